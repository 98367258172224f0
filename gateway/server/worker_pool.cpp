#include "gateway/server/worker_pool.hpp"

#include <algorithm>

namespace sinetti::server {

namespace {

std::size_t default_concurrency() { return std::max<std::size_t>(std::thread::hardware_concurrency(), 2); }

}  // namespace

WorkerPool::WorkerPool(std::size_t threads, std::size_t concurrency)
    : WorkerPool(WorkerPoolOptions{.threads = threads, .concurrency = concurrency}) {}

WorkerPool::WorkerPool(WorkerPoolOptions options)
    : concurrency_(std::min(options.concurrency == 0 ? default_concurrency() : options.concurrency,
                            std::max<std::size_t>(options.threads, 1))),
      starved_after_(std::max(options.starved_after, std::chrono::milliseconds(1))),
      spin_(std::max(options.spin, std::chrono::microseconds(0))),
      last_start_(std::chrono::steady_clock::now()) {
  const std::size_t n = std::max<std::size_t>(options.threads, 1);
  threads_.reserve(n);
  try {
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { thread_main(); });
  } catch (...) {
    stop();
    throw;
  }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    signals_.fetch_add(1, std::memory_order_release);
  }
  idle_.notify_all();
  std::call_once(joined_, [this] {
    for (auto& t : threads_) t.join();
  });
}

void WorkerPool::wake(std::unique_lock<std::mutex>& lock) {
  if (sleeping_ == 0) return;
  if (spinning_ >= queue_.size()) return;  // a spinning thread for every queued task
  // A free slot: a sleeping thread takes the job. No free slot: the running threads take it when
  // they finish; only the first job queued on a full pool wakes a thread, to watch for starvation.
  const bool notify = running_ < concurrency_ || (!watching_ && queue_.size() == 1);
  lock.unlock();
  if (notify) idle_.notify_one();
}

void WorkerPool::begin_wait() noexcept {
  std::unique_lock lock(mutex_);
  --running_;
  last_start_ = std::chrono::steady_clock::now();  // a wait began: the pool is moving
  const bool notify = !queue_.empty() && sleeping_ > 0 && running_ < concurrency_;
  lock.unlock();
  if (notify) idle_.notify_one();
}

void WorkerPool::end_wait() noexcept {
  std::lock_guard lock(mutex_);
  ++running_;  // goes on at once, even over the limit; no new task starts until it is back under it
}

bool WorkerPool::spin(std::uint64_t seen) const noexcept {
  const auto until = std::chrono::steady_clock::now() + spin_;
  for (unsigned i = 1;; ++i) {
    if (signals_.load(std::memory_order_acquire) != seen) return true;
    std::this_thread::yield();  // whatever else is runnable on this core goes first
    if (i % 16 == 0 && std::chrono::steady_clock::now() >= until) return false;
  }
}

void WorkerPool::thread_main() {
  observe_waits(this);
  std::unique_lock lock(mutex_);
  for (;;) {
    std::unique_ptr<Job> job;
    bool spun = false;  // a spin that found nothing: sleep now
    while (!job) {
      if (!queue_.empty()) {
        const auto now = std::chrono::steady_clock::now();
        if (running_ < concurrency_ || now - last_start_ >= starved_after_) {
          job = std::move(queue_.front());
          queue_.pop_front();
          last_start_ = now;
          // Stopping threads sleep until the queue is empty; tell them it is.
          if (stopped_ && queue_.empty() && sleeping_ > 0) idle_.notify_all();
          break;
        }
      } else if (stopped_) {
        return;
      } else if (!spun && spinning_ + running_ < concurrency_ && spin_.count() > 0) {
        ++spinning_;
        const auto seen = signals_.load(std::memory_order_relaxed);
        lock.unlock();
        spun = !spin(seen);  // signalled: another spin if another thread took the task
        lock.lock();
        --spinning_;
        continue;  // the queue is looked at again under the lock: nothing posted meanwhile is missed
      }
      ++sleeping_;
      if (!watching_ && (!queue_.empty() || running_ >= concurrency_)) {
        watching_ = true;
        idle_.wait_for(lock, starved_after_);
        watching_ = false;
      } else {
        idle_.wait(lock);
      }
      --sleeping_;
    }
    ++running_;
    lock.unlock();
    job->run();
    job.reset();
    lock.lock();
    --running_;
  }
}

}  // namespace sinetti::server
