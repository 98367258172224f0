#include "gateway/ingest/fresh_content.hpp"

#include <algorithm>

#include "crypto/primitives.hpp"

namespace sinetti::ingest {

FreshContent::FreshContent(std::size_t capacity_bytes, std::size_t max_entries)
    : capacity_(capacity_bytes), max_entries_(std::max<std::size_t>(1, max_entries)) {}

FreshContent::~FreshContent() {
  std::lock_guard lock(mutex_);
  for (auto& [id, e] : entries_) crypto::secure_wipe(e.content);
}

void FreshContent::erase_locked(const store::MessageId& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  bytes_ -= it->second.content.size();
  crypto::secure_wipe(it->second.content);
  entries_.erase(it);
}

void FreshContent::put(const store::MessageId& id, Entry entry) {
  if (entry.content.size() > capacity_) {
    crypto::secure_wipe(entry.content);
    return;
  }
  std::lock_guard lock(mutex_);
  erase_locked(id);
  // Oldest first out until the new entry fits; ids at the front that were taken already go too.
  while (!order_.empty() &&
         (bytes_ + entry.content.size() > capacity_ || entries_.size() >= max_entries_ || !entries_.contains(order_.front()))) {
    erase_locked(order_.front());
    order_.pop_front();
  }
  // Ids taken out of order stay in order_ behind one that is still here; keep that list bounded.
  if (order_.size() > 2 * max_entries_) {
    std::erase_if(order_, [this](const store::MessageId& x) { return !entries_.contains(x); });
  }
  bytes_ += entry.content.size();
  entries_.emplace(id, std::move(entry));
  order_.push_back(id);
}

std::optional<FreshContent::Entry> FreshContent::take(const store::MessageId& id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  bytes_ -= e.content.size();
  entries_.erase(it);
  return e;
}

void FreshContent::drop(const store::MessageId& id) {
  std::lock_guard lock(mutex_);
  erase_locked(id);
}

std::size_t FreshContent::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t FreshContent::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace sinetti::ingest
