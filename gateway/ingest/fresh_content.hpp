// FreshContent: the plaintext of messages the ingest has just committed and queued, held in memory
// for their first delivery attempt, so that attempt neither reads the sealed content back from the
// store nor unwraps its data key (an X25519 agreement per message) nor decrypts it. Only an
// accelerator: the durable copy in the store is the message; whatever is not found here (evicted,
// taken already, after a restart) is read from the store as before.
//
// Bounded by `capacity_bytes` (oldest first out) and by `max_entries`; an entry is taken (removed) by
// the first delivery that asks for it. Plaintext leaving the cache is wiped. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "gateway/store/types.hpp"

namespace sinetti::ingest {

class FreshContent {
 public:
  struct Entry {
    store::MessageKind kind = store::MessageKind::spool;
    std::chrono::system_clock::time_point created;
    std::string content;  // RFC 5322 text as stored
  };

  static constexpr std::size_t default_capacity_bytes = 32u << 20;  // 32 MiB
  static constexpr std::size_t default_max_entries = 8192;

  explicit FreshContent(std::size_t capacity_bytes = default_capacity_bytes,
                        std::size_t max_entries = default_max_entries);
  ~FreshContent();
  FreshContent(const FreshContent&) = delete;
  FreshContent& operator=(const FreshContent&) = delete;

  // After the commit that made `id` durable. A message larger than the capacity is not kept; an
  // id already present is replaced.
  void put(const store::MessageId& id, Entry entry);
  // Removes and returns the entry, if it is still here.
  std::optional<Entry> take(const store::MessageId& id);
  // Drops the entry (the message was shredded or will not be delivered from memory).
  void drop(const store::MessageId& id);

  std::size_t size() const;
  std::size_t bytes() const;

 private:
  void erase_locked(const store::MessageId& id);

  const std::size_t capacity_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<store::MessageId, Entry> entries_;
  std::deque<store::MessageId> order_;  // insertion order; may name ids already taken
  std::size_t bytes_ = 0;
};

}  // namespace sinetti::ingest
