// WorkerPool: blocking work runs on the pool's threads, the coroutine resumes on its own strand, and
// stop() drains the queue and refuses new work.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/server/worker_pool.hpp"

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

BOOST_AUTO_TEST_SUITE_END()
