#include "gateway/server/worker_pool.hpp"

#include <algorithm>

namespace sinetti::server {

WorkerPool::WorkerPool(std::size_t threads) : threads_(std::max<std::size_t>(threads, 1)), pool_(threads_) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  std::call_once(joined_, [this] { pool_.join(); });
}

}  // namespace sinetti::server
