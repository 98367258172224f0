#include "gateway/portal/phone_tails.hpp"

namespace sinetti::portal {

void PhoneTails::bind(const std::shared_ptr<const crypto::KeyRing>& ring) {
  std::lock_guard lock(mutex_);
  if (ring_.lock() == ring) return;
  tails_.clear();
  ring_ = ring;
}

// A live weak_ptr's object cannot have been replaced by another at the same address, and the
// caller's snapshot keeps `ring` alive: comparing addresses is enough.
bool PhoneTails::bound_to(const crypto::KeyRing& ring) const {
  const auto bound = ring_.lock();
  return bound && bound.get() == &ring;
}

std::optional<std::string> PhoneTails::find(const crypto::KeyRing& ring, std::string_view message_id) const {
  std::lock_guard lock(mutex_);
  if (!bound_to(ring)) return std::nullopt;
  const auto it = tails_.find(std::string(message_id));
  if (it == tails_.end()) return std::nullopt;
  return it->second;
}

void PhoneTails::remember(const crypto::KeyRing& ring, std::string_view message_id, std::string tail) {
  std::lock_guard lock(mutex_);
  if (!bound_to(ring)) return;
  if (tails_.size() >= max_entries_) tails_.clear();
  tails_.insert_or_assign(std::string(message_id), std::move(tail));
}

std::size_t PhoneTails::size() const {
  std::lock_guard lock(mutex_);
  return tails_.size();
}

}  // namespace sinetti::portal
