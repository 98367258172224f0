// PhoneTails: the last two digits of a message's phone number, as the landing page of a level-sms
// message shows them ("the number ending in 67"), kept in memory so that a landing page does not
// unwrap the message's data key (an X25519 agreement) and open the sealed number on every view.
// Only the two digits are kept, by message id; never the number, a key or a token, and nothing is
// written anywhere. Bounded: when max_entries are held the cache starts afresh. The tails belong
// to one key ring: bind() with another ring (SIGHUP after `sinetti keys rotate`, a KEK removed)
// empties the cache, and find()/remember() do nothing for a ring that is not the bound one, so a
// tail is only shown while the ring that opened it is the current one. A message's phone number
// never changes; a shredded message's link no longer resolves, so its tail is never asked for.
// Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crypto/key_ring.hpp"

namespace sinetti::portal {

class PhoneTails {
 public:
  explicit PhoneTails(std::size_t max_entries = 10000) : max_entries_(max_entries) {}

  // The ring the requests that start now use (KeyRingHolder::current()); another one than before
  // empties the cache.
  void bind(const std::shared_ptr<const crypto::KeyRing>& ring);
  // The tail remembered for the message, if `ring` is the bound ring.
  std::optional<std::string> find(const crypto::KeyRing& ring, std::string_view message_id) const;
  // Remembers a tail opened with `ring`; ignored unless `ring` is the bound ring.
  void remember(const crypto::KeyRing& ring, std::string_view message_id, std::string tail);

  std::size_t size() const;

 private:
  bool bound_to(const crypto::KeyRing& ring) const;  // mutex_ held

  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::weak_ptr<const crypto::KeyRing> ring_;  // guarded by mutex_; expired: none bound
  std::unordered_map<std::string, std::string> tails_;  // guarded by mutex_
};

}  // namespace sinetti::portal
