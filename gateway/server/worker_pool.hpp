// WorkerPool: threads for blocking work — SQLite and PostgreSQL calls, fsync, libcurl easy calls,
// password hashing — so that nothing blocks the I/O threads (DESIGN "Async model"). Coroutines call
// `co_await pool.run_blocking(fn)`; fn runs on a pool thread and the coroutine resumes on its own
// executor (its connection's strand) with fn's result.
//
// The pool works like an I/O completion port. It has many threads (`threads`), because its tasks
// mostly wait, but only `concurrency` of them run tasks at once (one per core by default). A busy
// pool therefore takes task after task on the threads already running rather than waking a
// sleeping thread for each: on a 2-core VM every such hand-over cost a futex wake and two context
// switches, and they were a third of a portal request's CPU time. A task that waits marks the wait
// with a sinetti::Waiting scope (common/sinetti/blocking.hpp); while it waits its slot is free for
// another thread, and when the wait ends it goes on at once, even if that puts the pool over its
// limit for a moment (no new task starts until the pool is back under it). A wait nobody marked
// costs latency, not a stall: when work is queued and no task has started for `starved_after`, one
// more thread takes a task.
//
// A thread that runs out of work does not sleep at once: while fewer than `concurrency` threads run
// or spin, it stays awake for `spin` (yielding the core to anything runnable) and takes the next
// task itself. On a busy portal the next request comes within that time, so the coroutine that
// queues it wakes no thread (no futex call, no context switch); a pool that goes idle costs at
// most `concurrency` threads' `spin` of polling before they sleep.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include <boost/system/system_error.hpp>

#include "gateway/server/asio.hpp"
#include "sinetti/blocking.hpp"

namespace sinetti::server {

struct WorkerPoolOptions {
  std::size_t threads = 16;     // threads that may be busy at once, waiting or running; at least 1
  std::size_t concurrency = 0;  // of them, how many run at once; 0: one per core, at least 2
  std::chrono::milliseconds starved_after{10};
  std::chrono::microseconds spin{50};  // how long an idle thread polls for work before it sleeps; 0: never
};

class WorkerPool final : private WaitObserver {
 public:
  explicit WorkerPool(WorkerPoolOptions options);
  // threads: at least 1; concurrency: 0 for one per core (at least 2), never more than threads.
  explicit WorkerPool(std::size_t threads, std::size_t concurrency = 0);
  ~WorkerPool() override;  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const noexcept { return threads_.size(); }
  std::size_t concurrency() const noexcept { return concurrency_; }

  // Queues `task` (a move-only callable taking no arguments) for a pool thread. Returns false, and
  // leaves `task` untouched, once stop() has begun. Exceptions thrown by a posted task end the process
  // (std::terminate); use run_blocking for work that can fail.
  template <typename Task>
  bool post(Task&& task) {
    std::unique_lock lock(mutex_);
    if (stopped_) return false;
    queue_.push_back(std::make_unique<JobOf<std::decay_t<Task>>>(std::forward<Task>(task)));
    signals_.fetch_add(1, std::memory_order_release);
    wake(lock);
    return true;
  }

  // Runs fn() on a pool thread; the calling coroutine resumes on its own executor with fn's result,
  // or with fn's exception rethrown. Capture only references and plain pointers in a lambda passed
  // straight to co_await run_blocking(...): GCC 12 destroys such a temporary argument twice, harmless
  // only when its destructor is trivial (a captured shared_ptr or string would be released twice).
  // Throws boost::system::system_error(operation_aborted) if the pool is stopping. Callers must not
  // destroy the io_context they run on before stop() returns.
  template <typename Fn>
  asio::awaitable<std::invoke_result_t<Fn&>> run_blocking(Fn fn);

  // Takes no new work, runs the work already queued, and joins the threads. Idempotent and safe
  // from several threads; must not be called from a pool thread.
  void stop();

 private:
  struct Job {
    virtual ~Job() = default;
    virtual void run() = 0;
  };
  template <typename Fn>
  struct JobOf final : Job {
    explicit JobOf(Fn&& f) : fn(std::move(f)) {}
    explicit JobOf(const Fn& f) : fn(f) {}
    void run() override { fn(); }
    Fn fn;
  };
  template <typename Handler, typename Executor, typename Body>
  struct BlockingTask;

  void begin_wait() noexcept override;
  void end_wait() noexcept override;
  void wake(std::unique_lock<std::mutex>& lock);  // after queueing a job
  void thread_main();
  bool spin(std::uint64_t seen) const noexcept;  // until signals_ moves on from `seen` (true), or spin_ passed

  std::size_t concurrency_;
  std::chrono::milliseconds starved_after_;
  std::chrono::microseconds spin_;
  std::mutex mutex_;
  std::condition_variable idle_;      // threads without a task
  std::deque<std::unique_ptr<Job>> queue_;
  std::size_t running_ = 0;           // threads running a task and not in a Waiting scope
  std::size_t sleeping_ = 0;          // threads waiting on idle_
  bool watching_ = false;             // one sleeping thread wakes every starved_after while work is queued
  std::size_t spinning_ = 0;          // idle threads polling signals_ instead of sleeping, with running_ at most concurrency_
  std::atomic<std::uint64_t> signals_{0};  // moves on at every post and at stop: what the spinner polls
  std::chrono::steady_clock::time_point last_start_;  // when a task last started or a wait began
  bool stopped_ = false;
  std::vector<std::thread> threads_;
  std::once_flag joined_;
};

// ---- implementation --------------------------------------------------------------------------------

// The unit of work run_blocking queues: runs the body, then hands the suspended coroutine back to
// its executor. The coroutine frame (which holds the body's captures and the result) stays alive
// while the handler does, so the body may refer to it.
template <typename Handler, typename Executor, typename Body>
struct WorkerPool::BlockingTask {
  Body body;
  Executor resume_on;  // the coroutine's executor, with outstanding work tracked so run() waits for us
  Handler handler;

  void operator()() {
    body();
    resume(std::exception_ptr());
  }
  void resume(std::exception_ptr e) {
    asio::post(resume_on, [h = std::move(handler), e]() mutable { std::move(h)(e); });
  }
};

template <typename Fn>
asio::awaitable<std::invoke_result_t<Fn&>> WorkerPool::run_blocking(Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  using Stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  std::optional<Stored> result;
  std::exception_ptr failure;
  auto body = [&fn, &result, &failure]() noexcept {
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
        result.emplace();
      } else {
        result.emplace(fn());
      }
    } catch (...) {
      failure = std::current_exception();
    }
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
      [this, &body](auto handler) {
        auto resume_on = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        BlockingTask<decltype(handler), decltype(resume_on), decltype(body)> task{body, resume_on, std::move(handler)};
        if (!post(std::move(task))) {
          task.resume(std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted, "worker pool stopped")));
        }
      },
      asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
  if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

}  // namespace sinetti::server
