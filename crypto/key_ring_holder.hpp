// KeyRingHolder: the key ring a running gateway uses, replaceable while it runs (`sinetti keys
// rotate`, then SIGHUP: new messages are wrapped to the new KEK without a restart). Users take a
// snapshot with current() and keep it for one whole operation, so that a wrapped key and the KEK id
// recorded beside it come from the same ring; a replaced ring lives on while a snapshot holds it.
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "crypto/key_ring.hpp"

namespace sinetti::crypto {

class KeyRingHolder {
 public:
  explicit KeyRingHolder(KeyRing ring) : ring_(std::make_shared<const KeyRing>(std::move(ring))) {}
  KeyRingHolder(const KeyRingHolder&) = delete;
  KeyRingHolder& operator=(const KeyRingHolder&) = delete;

  std::shared_ptr<const KeyRing> current() const { return ring_.load(); }
  // Operations that start after this see `ring`; those already running finish on their snapshot.
  void replace(KeyRing ring) { ring_.store(std::make_shared<const KeyRing>(std::move(ring))); }

 private:
  std::atomic<std::shared_ptr<const KeyRing>> ring_;
};

}  // namespace sinetti::crypto
