// Marking a wait. The worker pool runs only as many tasks at once as there are cores, so that a
// busy pool takes task after task on threads that are already running instead of waking a sleeping
// thread for each (a futex wake and a context switch every time). A task that is about to wait — a
// commit's fsync, an HTTP call, a free database connection — says so with a `Waiting` scope, and
// while it waits another pool thread may run. Off the pool (I/O threads, tools, tests) a `Waiting`
// scope does nothing.
//
//   {
//     sinetti::Waiting waiting;
//     return future.get();
//   }
//
// Scopes nest; only the outermost one counts. Keep the scope to the wait itself: CPU work inside it
// runs beyond the pool's limit.
#pragma once

namespace sinetti {

// Told when a thread it watches begins and ends waiting. WorkerPool is one.
class WaitObserver {
 public:
  virtual void begin_wait() noexcept = 0;
  virtual void end_wait() noexcept = 0;

 protected:
  WaitObserver() = default;
  WaitObserver(const WaitObserver&) = default;
  WaitObserver& operator=(const WaitObserver&) = default;
  virtual ~WaitObserver() = default;
};

namespace detail {
inline thread_local WaitObserver* wait_observer = nullptr;
inline thread_local int wait_depth = 0;
}  // namespace detail

// Sets the observer of the calling thread's waits (nullptr: none). Call it on the thread itself.
inline void observe_waits(WaitObserver* observer) noexcept {
  detail::wait_observer = observer;
  detail::wait_depth = 0;
}

class Waiting {
 public:
  Waiting() noexcept : observer_(detail::wait_observer) {
    if (observer_ != nullptr && detail::wait_depth++ == 0) observer_->begin_wait();
  }
  ~Waiting() {
    if (observer_ != nullptr && --detail::wait_depth == 0) observer_->end_wait();
  }
  Waiting(const Waiting&) = delete;
  Waiting& operator=(const Waiting&) = delete;

 private:
  WaitObserver* observer_;
};

}  // namespace sinetti
