// WorkerPool: blocking work runs on the pool's threads, the coroutine resumes on its own strand,
// only `concurrency` threads run at once unless a task marks a wait, and stop() drains the queue and
// refuses new work.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/server/worker_pool.hpp"
#include "sinetti/blocking.hpp"

using namespace sinetti::server;
using namespace std::chrono_literals;

namespace {

// Runs `io` on `n` threads until it has no more work.
void run(asio::io_context& io, int n) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&io] { io.run(); });
  for (auto& t : threads) t.join();
}

// A co_spawn completion that records an escaping exception, so a failure shows as a test error.
struct Failure {
  std::exception_ptr* out;
  void operator()(std::exception_ptr e) const {
    if (e) *out = e;
  }
};

// Counts the tasks inside it at once and remembers the most.
struct Overlap {
  std::atomic<int> now{0}, most{0};
  void enter() {
    const int n = ++now;
    int seen = most.load();
    while (n > seen && !most.compare_exchange_weak(seen, n)) {
    }
  }
  void leave() { --now; }
};

// A one-shot signal between threads, with a bounded wait so that a broken pool fails the test
// instead of hanging it. Tasks on pool threads record what they saw and the test thread asserts it
// (Boost.Test's assertions are not for other threads).
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [this] { return open_; });
  }
  bool is_open() {
    std::lock_guard lock(mutex_);
    return open_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

WorkerPoolOptions limited(std::size_t threads, std::size_t concurrency) {
  // A starvation watch far beyond any test's run time: only marked waits free a slot.
  return WorkerPoolOptions{.threads = threads, .concurrency = concurrency, .starved_after = 1h};
}

WorkerPoolOptions spinning(std::size_t threads, std::size_t concurrency) {
  // An idle thread polls for work far beyond any test's run time: only a post or stop() ends it.
  return WorkerPoolOptions{.threads = threads, .concurrency = concurrency, .starved_after = 1h, .spin = 1h};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(server_worker_pool)

BOOST_AUTO_TEST_CASE(run_blocking_runs_on_a_pool_thread_and_resumes_on_the_callers_strand) {
  asio::io_context io;
  WorkerPool pool(2);
  auto strand = asio::make_strand(io);
  std::thread::id io_thread, work_thread, resumed_thread;
  bool on_strand_before = false, on_strand_after = false;
  int result = 0;
  std::exception_ptr failure;
  asio::co_spawn(
      strand,
      [&]() -> asio::awaitable<void> {
        io_thread = std::this_thread::get_id();
        on_strand_before = strand.running_in_this_thread();
        result = co_await pool.run_blocking([&] {
          work_thread = std::this_thread::get_id();
          std::this_thread::sleep_for(10ms);  // io.run() must wait for us (outstanding work)
          return 42;
        });
        resumed_thread = std::this_thread::get_id();
        on_strand_after = strand.running_in_this_thread();
      },
      Failure{&failure});
  io.run();
  BOOST_REQUIRE(!failure);
  BOOST_TEST(result == 42);
  BOOST_TEST((work_thread != io_thread));
  BOOST_TEST((resumed_thread == io_thread));
  BOOST_TEST(on_strand_before);
  BOOST_TEST(on_strand_after);
}

BOOST_AUTO_TEST_CASE(exceptions_and_void_results) {
  asio::io_context io;
  WorkerPool pool(1);
  std::string caught;
  bool void_ran = false;
  std::unique_ptr<int> moved;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          co_await pool.run_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
        co_await pool.run_blocking([&] { void_ran = true; });
        moved = co_await pool.run_blocking([] { return std::make_unique<int>(7); });  // move-only results
      },
      Failure{&failure});
  io.run();
  BOOST_REQUIRE(!failure);
  BOOST_TEST(caught == "disk on fire");
  BOOST_TEST(void_ran);
  BOOST_REQUIRE(moved);
  BOOST_TEST(*moved == 7);
}

BOOST_AUTO_TEST_CASE(many_coroutines_on_one_strand_from_several_io_threads) {
  asio::io_context io;
  WorkerPool pool(3);
  auto strand = asio::make_strand(io);
  int counter = 0;  // not atomic: the strand serializes every access
  std::atomic<int> off_strand{0};
  std::atomic<int> running{0}, most{0};
  std::exception_ptr failure;
  constexpr int coroutines = 24;
  for (int i = 0; i < coroutines; ++i) {
    asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<void> {
          for (int round = 0; round < 5; ++round) {
            co_await pool.run_blocking([&] {
              const int now = ++running;
              int seen = most.load();
              while (now > seen && !most.compare_exchange_weak(seen, now)) {
              }
              std::this_thread::sleep_for(1ms);
              --running;
            });
            if (!strand.running_in_this_thread()) ++off_strand;
            ++counter;
          }
        },
        Failure{&failure});
  }
  run(io, 4);
  BOOST_REQUIRE(!failure);
  BOOST_TEST(counter == coroutines * 5);
  BOOST_TEST(off_strand.load() == 0);
  BOOST_TEST(most.load() <= 3);  // bounded by the pool size
  BOOST_TEST(most.load() >= 1);
}

BOOST_AUTO_TEST_CASE(stop_runs_what_is_queued_then_refuses_work) {
  WorkerPool pool(2);
  BOOST_TEST(pool.size() == 2u);
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i) {
    BOOST_REQUIRE(pool.post([&done] {
      std::this_thread::sleep_for(100us);
      ++done;
    }));
  }
  pool.stop();
  BOOST_TEST(done.load() == 100);
  BOOST_TEST(!pool.post([&done] { ++done; }));
  pool.stop();  // idempotent
  BOOST_TEST(done.load() == 100);
}

BOOST_AUTO_TEST_CASE(post_takes_move_only_tasks) {
  WorkerPool pool(1);
  std::atomic<int> seen{0};
  auto value = std::make_unique<int>(5);
  BOOST_REQUIRE(pool.post([v = std::move(value), &seen] { seen = *v; }));
  pool.stop();
  BOOST_TEST(seen.load() == 5);
}

BOOST_AUTO_TEST_CASE(run_blocking_on_a_stopped_pool_throws_operation_aborted) {
  asio::io_context io;
  WorkerPool pool(1);
  pool.stop();
  bool ran = false;
  boost::system::error_code code;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          co_await pool.run_blocking([&] { ran = true; });
        } catch (const boost::system::system_error& e) {
          code = e.code();
        }
      },
      Failure{&failure});
  io.run();
  BOOST_REQUIRE(!failure);
  BOOST_TEST(!ran);
  BOOST_TEST((code == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(only_concurrency_threads_run_at_once) {
  WorkerPool pool(limited(8, 2));
  BOOST_TEST(pool.size() == 8u);
  BOOST_TEST(pool.concurrency() == 2u);
  Overlap overlap;
  for (int i = 0; i < 40; ++i) {
    BOOST_REQUIRE(pool.post([&overlap] {
      overlap.enter();
      std::this_thread::sleep_for(1ms);  // an unmarked wait keeps its slot
      overlap.leave();
    }));
  }
  pool.stop();
  BOOST_TEST(overlap.most.load() == 2);
}

BOOST_AUTO_TEST_CASE(concurrency_defaults_to_the_cores_and_never_exceeds_the_threads) {
  const std::size_t cores = std::max<std::size_t>(std::thread::hardware_concurrency(), 2);
  BOOST_TEST(WorkerPool(64).concurrency() == cores);
  BOOST_TEST(WorkerPool(1).concurrency() == 1u);
  BOOST_TEST(WorkerPool(3, 5).concurrency() == 3u);
  BOOST_TEST(WorkerPool(3, 1).concurrency() == 1u);
}

BOOST_AUTO_TEST_CASE(a_waiting_task_hands_its_slot_to_another_thread) {
  WorkerPool pool(limited(4, 1));
  Gate posted, second_ran;
  bool opened = false;
  BOOST_REQUIRE(pool.post([&] {
    const sinetti::Waiting waiting;
    // Only one task runs at a time; the second can open the gate only if this wait freed the slot.
    if (!pool.post([&second_ran] { second_ran.open(); })) return;
    posted.open();
    opened = second_ran.wait();
  }));
  BOOST_TEST(posted.wait());  // stop() refuses new work: the tasks post theirs first
  pool.stop();
  BOOST_TEST(opened);
}

BOOST_AUTO_TEST_CASE(after_nested_waits_the_task_holds_its_slot_again) {
  WorkerPool pool(limited(4, 1));
  Gate posted, inner_ran, later_ran;
  bool inner_opened = false, later_ran_early = true;
  BOOST_REQUIRE(pool.post([&] {
    {
      const sinetti::Waiting outer;
      {
        const sinetti::Waiting inner;
      }
      // Still inside the outer scope: the slot is free.
      if (!pool.post([&inner_ran] { inner_ran.open(); })) return;
      inner_opened = inner_ran.wait();
    }
    // Both scopes have ended: this task holds the only slot, so the next task waits for it.
    if (!pool.post([&later_ran] { later_ran.open(); })) return;
    posted.open();
    later_ran_early = later_ran.wait(100ms);
  }));
  BOOST_TEST(posted.wait());
  pool.stop();
  BOOST_TEST(inner_opened);
  BOOST_TEST(!later_ran_early);
  BOOST_TEST(later_ran.is_open());  // and runs once the slot is free
}

BOOST_AUTO_TEST_CASE(the_starvation_watch_frees_an_unmarked_wait) {
  WorkerPool pool(WorkerPoolOptions{.threads = 2, .concurrency = 1, .starved_after = 20ms});
  Gate posted, second_ran;
  bool opened = false;
  std::chrono::steady_clock::duration took{};
  BOOST_REQUIRE(pool.post([&] {
    const auto start = std::chrono::steady_clock::now();
    if (!pool.post([&second_ran] { second_ran.open(); })) return;
    posted.open();
    opened = second_ran.wait();  // not marked: without the watch this would never open
    took = std::chrono::steady_clock::now() - start;
  }));
  BOOST_TEST(posted.wait());
  pool.stop();
  BOOST_TEST(opened);
  BOOST_TEST((took >= 20ms));  // the second task waited for the watch, not for a free slot
}

BOOST_AUTO_TEST_CASE(stop_drains_the_queue_while_threads_wait_for_a_slot) {
  WorkerPool pool(limited(6, 1));
  std::atomic<int> done{0};
  Overlap overlap;
  for (int i = 0; i < 60; ++i) {
    BOOST_REQUIRE(pool.post([&] {
      overlap.enter();
      std::this_thread::sleep_for(200us);
      ++done;
      overlap.leave();
    }));
  }
  pool.stop();
  BOOST_TEST(done.load() == 60);
  BOOST_TEST(overlap.most.load() == 1);
  BOOST_TEST(!pool.post([&done] { ++done; }));
}

BOOST_AUTO_TEST_CASE(waiting_off_the_pool_frees_no_slot) {
  WorkerPool pool(limited(4, 1));
  Overlap overlap;
  {
    const sinetti::Waiting waiting;  // this thread is not the pool's: nothing to hand over
    for (int i = 0; i < 20; ++i) {
      BOOST_REQUIRE(pool.post([&overlap] {
        overlap.enter();
        std::this_thread::sleep_for(500us);
        overlap.leave();
      }));
    }
  }
  pool.stop();
  BOOST_TEST(overlap.most.load() == 1);
}

BOOST_AUTO_TEST_CASE(the_spinning_thread_takes_a_task_posted_without_a_wake) {
  WorkerPool pool(spinning(1, 1));
  std::this_thread::sleep_for(20ms);  // the only thread is idle: it spins, nobody sleeps
  for (int i = 0; i < 3; ++i) {
    Gate ran;
    BOOST_REQUIRE(pool.post([&ran] { ran.open(); }));
    BOOST_TEST(ran.wait(), "task " << i << " ran");
  }
  Gate stopped;
  std::thread stopper([&] {
    pool.stop();  // the spinner sees the stop without being posted anything
    stopped.open();
  });
  BOOST_TEST(stopped.wait());
  stopper.join();
}

BOOST_AUTO_TEST_CASE(tasks_posted_back_to_back_to_spinning_threads_run_at_once) {
  // Two tasks that must run at once, posted back to back while both threads spin: each spinner
  // takes one, or a woken thread does. Whether the second post comes before or after a spinner
  // has taken the first is a race, so the case runs many times.
  int missed = 0;
  for (int round = 0; round < 100 && missed == 0; ++round) {
    WorkerPool pool(spinning(2, 2));
    std::this_thread::sleep_for(2ms);  // both threads are idle and spin
    Gate second_ran;
    std::atomic<bool> second_seen{false};
    BOOST_REQUIRE(pool.post([&] { second_seen = second_ran.wait(200ms); }));  // runs beside the second
    BOOST_REQUIRE(pool.post([&second_ran] { second_ran.open(); }));
    pool.stop();
    if (!second_seen) ++missed;
  }
  BOOST_TEST(missed == 0);
}

BOOST_AUTO_TEST_SUITE_END()
