// WorkerPool: a fixed number of threads for blocking work — SQLite and PostgreSQL calls, fsync,
// libcurl easy calls, password hashing — so that nothing blocks the I/O threads (DESIGN "Async model").
// Coroutines call `co_await pool.run_blocking(fn)`; fn runs on a pool thread and the coroutine resumes
// on its own executor (its connection's strand) with fn's result.
#pragma once

#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <variant>

#include <boost/system/system_error.hpp>

#include "gateway/server/asio.hpp"

namespace sinetti::server {

class WorkerPool {
 public:
  // threads: at least 1.
  explicit WorkerPool(std::size_t threads);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const noexcept { return threads_; }

  // Queues `task` (a move-only callable taking no arguments) for a pool thread. Returns false, and
  // leaves `task` untouched, once stop() has begun. Exceptions thrown by a posted task end the process
  // (std::terminate); use run_blocking for work that can fail.
  template <typename Task>
  bool post(Task&& task) {
    std::lock_guard lock(mutex_);
    if (stopped_) return false;
    asio::post(pool_, std::forward<Task>(task));
    return true;
  }

  // Runs fn() on a pool thread; the calling coroutine resumes on its own executor with fn's result,
  // or with fn's exception rethrown. Capture only references and plain pointers in a lambda passed
  // straight to co_await run_blocking(...): GCC 12 destroys such a temporary argument twice, harmless
  // only when its destructor is trivial (a captured shared_ptr or string would be released twice). Throws boost::system::system_error(operation_aborted) if the
  // pool is stopping. Callers must not destroy the io_context they run on before stop() returns.
  template <typename Fn>
  asio::awaitable<std::invoke_result_t<Fn&>> run_blocking(Fn fn);

  // Takes no new work, runs the work already queued, and joins the threads. Idempotent and safe
  // from several threads; must not be called from a pool thread.
  void stop();

 private:
  template <typename Handler, typename Executor, typename Body>
  struct BlockingTask;

  std::size_t threads_;
  asio::thread_pool pool_;
  std::mutex mutex_;
  bool stopped_ = false;
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
