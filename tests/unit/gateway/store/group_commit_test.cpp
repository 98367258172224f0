// Group commit: requests waiting while the writer is busy share one transaction; a failing request
// fails alone; a transaction the backend abandons or a failed COMMIT is reported to every request
// it touched. First with a scripted transaction (exact counts), then on SQLite under concurrency,
// and with the database full.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <thread>

#include "gateway/store/group_commit.hpp"
#include "store_fixture.hpp"

using namespace store_test;

namespace {

// Records the verbs; a request can make the transaction "abandoned", COMMIT can be made to fail.
class ScriptedTransaction final : public TransactionControl {
 public:
  Status set_durable(bool durable) override {
    log(durable ? "DURABLE" : "NOT DURABLE");
    if (fail_durable && durable) return sinetti::make_error("cannot set synchronous");
    return ok_status();
  }
  Status begin() override { return log("BEGIN"), open_ = true, ok_status(); }
  Status savepoint() override { return log("SAVEPOINT"), ok_status(); }
  Status release() override { return log("RELEASE"), ok_status(); }
  Status rollback_to_savepoint() override { return log("ROLLBACK TO"), ok_status(); }
  Status commit() override {
    log("COMMIT");
    {
      std::lock_guard lock(mutex_);
      committed_since_idle_ = true;
    }
    open_ = false;
    if (fail_commit) return sinetti::make_error("disk I/O error");
    return ok_status();
  }
  void rollback() override { log("ROLLBACK"), open_ = false; }
  bool in_transaction() override { return open_; }
  void after_commit(bool more_waiting) override {
    std::lock_guard lock(mutex_);
    after_commit_.push_back(more_waiting);
  }
  // Work put off until the writer is idle: due `idle_in` after the last commit, done by idle_work().
  std::optional<std::chrono::milliseconds> idle_work_in() override {
    std::lock_guard lock(mutex_);
    return idle_in_;
  }
  void idle_work() override {
    std::lock_guard lock(mutex_);
    log_locked(committed_since_idle_ ? "IDLE WORK" : "IDLE WORK (nothing committed)");
    idle_in_.reset();
    committed_since_idle_ = false;
    idle_done_.notify_all();
  }
  void put_off(std::chrono::milliseconds in) {
    std::lock_guard lock(mutex_);
    idle_in_ = in;
  }
  bool wait_idle_work(std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return idle_done_.wait_for(lock, limit, [&] {
      return std::count(verbs_.begin(), verbs_.end(), "IDLE WORK") > 0;
    });
  }
  void abandon() { open_ = false; }
  std::vector<bool> after_commits() {
    std::lock_guard lock(mutex_);
    return after_commit_;
  }

  std::vector<std::string> verbs() {
    std::lock_guard lock(mutex_);
    return verbs_;
  }
  std::atomic<bool> fail_commit{false};
  std::atomic<bool> fail_durable{false};

 private:
  void log(std::string v) {
    std::lock_guard lock(mutex_);
    log_locked(std::move(v));
  }
  void log_locked(std::string v) { verbs_.push_back(std::move(v)); }
  std::mutex mutex_;
  std::condition_variable idle_done_;
  std::optional<std::chrono::milliseconds> idle_in_;
  bool committed_since_idle_ = false;
  std::vector<std::string> verbs_;
  std::vector<bool> after_commit_;
  bool open_ = false;
};

struct Outcomes {
  std::mutex mutex;
  std::vector<std::pair<int, Status>> results;
  std::vector<int> applied;
  void add(int id, Status s) {
    std::lock_guard lock(mutex);
    results.emplace_back(id, std::move(s));
  }
};

std::unique_ptr<WriteJob> job(int id, Outcomes& out, std::function<Status()> body = [] { return ok_status(); },
                              bool durable = true) {
  return std::make_unique<FunctionJob<std::monostate>>(
      [id, &out, body] {
        {
          std::lock_guard lock(out.mutex);
          out.applied.push_back(id);
        }
        return body();
      },
      [id, &out](Status s) { out.add(id, std::move(s)); }, durable);
}

std::unique_ptr<WriteJob> session_job(int id, Outcomes& out) { return job(id, out, [] { return ok_status(); }, false); }

// Holds the writer inside the first request until released, so the next ones queue up.
struct Gate {
  std::promise<void> entered, release;
  std::shared_future<void> released{release.get_future().share()};
  Status hold() {
    entered.set_value();
    released.wait();
    return ok_status();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_group_commit)

BOOST_AUTO_TEST_CASE(waiting_requests_share_one_transaction) {
  ScriptedTransaction tx;
  Outcomes out;
  Gate gate;
  {
    GroupCommitWriter writer(tx, {});
    writer.start();
    writer.submit(job(0, out, [&] { return gate.hold(); }));
    gate.entered.get_future().wait();
    for (int i = 1; i <= 20; ++i) writer.submit(job(i, out));
    gate.release.set_value();
    writer.stop();
    const auto stats = writer.stats();
    BOOST_TEST(stats.batches == 21u);
    BOOST_TEST(stats.transactions == 2u);  // the held one, then the twenty together
    BOOST_TEST(stats.largest_group == 20u);
    BOOST_TEST(stats.failed_batches == 0u);
  }
  BOOST_TEST_REQUIRE(out.results.size() == 21u);
  for (std::size_t i = 0; i < out.results.size(); ++i) {
    BOOST_TEST(out.results[i].first == static_cast<int>(i));  // completions in submission order
    BOOST_TEST(out.results[i].second.ok());
  }
  const auto v = tx.verbs();
  BOOST_TEST(std::count(v.begin(), v.end(), "COMMIT") == 2);
  BOOST_TEST(std::count(v.begin(), v.end(), "SAVEPOINT") == 21);
}

BOOST_AUTO_TEST_CASE(after_commit_is_told_whether_more_requests_wait) {
  ScriptedTransaction tx;
  Outcomes out;
  Gate gate;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.submit(job(0, out, [&] { return gate.hold(); }));
  gate.entered.get_future().wait();
  writer.submit(job(1, out));  // queued while the first group is being applied
  gate.release.set_value();
  writer.stop();
  // The first group commits with request 1 waiting; after the second the writer is idle.
  BOOST_TEST(tx.after_commits() == (std::vector<bool>{true, false}));
}

BOOST_AUTO_TEST_CASE(put_off_work_runs_once_the_writer_has_been_idle_that_long) {
  ScriptedTransaction tx;
  Outcomes out;
  GroupCommitWriter writer(tx, {});
  writer.start();
  // The request puts work off, as a shred puts off its checkpoint.
  writer.submit(job(0, out, [&] { return tx.put_off(std::chrono::milliseconds(50)), ok_status(); }));
  BOOST_TEST_REQUIRE(tx.wait_idle_work(std::chrono::seconds(30)));
  writer.stop();  // nothing is put off any more: stopping does not run it again
  const auto v = tx.verbs();
  BOOST_TEST(std::count(v.begin(), v.end(), "IDLE WORK") == 1);
  BOOST_TEST(std::count(v.begin(), v.end(), "IDLE WORK (nothing committed)") == 0);
  BOOST_TEST_REQUIRE(out.results.size() == 1u);
  BOOST_TEST(out.results[0].second.ok());
}

BOOST_AUTO_TEST_CASE(put_off_work_runs_when_the_writer_stops) {
  ScriptedTransaction tx;
  Outcomes out;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.submit(job(0, out, [&] { return tx.put_off(std::chrono::hours(1)), ok_status(); }));
  writer.stop();
  const auto v = tx.verbs();
  BOOST_TEST_REQUIRE(!v.empty());
  BOOST_TEST(v.back() == "IDLE WORK");
  BOOST_TEST(std::count(v.begin(), v.end(), "IDLE WORK") == 1);
}

BOOST_AUTO_TEST_CASE(without_group_commit_every_request_is_its_own_transaction) {
  ScriptedTransaction tx;
  Outcomes out;
  Gate gate;
  GroupCommitWriter writer(tx, GroupCommitOptions{.group_commit = false, .max_group = 512});
  writer.start();
  writer.submit(job(0, out, [&] { return gate.hold(); }));
  gate.entered.get_future().wait();
  for (int i = 1; i <= 5; ++i) writer.submit(job(i, out));
  gate.release.set_value();
  writer.stop();
  BOOST_TEST(writer.stats().transactions == 6u);
  BOOST_TEST(writer.stats().largest_group == 1u);
}

BOOST_AUTO_TEST_CASE(a_failing_request_fails_alone) {
  ScriptedTransaction tx;
  Outcomes out;
  Gate gate;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.submit(job(0, out, [&] { return gate.hold(); }));
  gate.entered.get_future().wait();
  for (int i = 1; i <= 5; ++i) {
    writer.submit(job(i, out, [i] { return i == 3 ? Status(sinetti::make_error("constraint")) : ok_status(); }));
  }
  gate.release.set_value();
  writer.stop();
  BOOST_TEST_REQUIRE(out.results.size() == 6u);
  for (const auto& [id, s] : out.results) BOOST_TEST(s.ok() == (id != 3), id);
  BOOST_TEST(out.results[3].second.error().message == "constraint");
  BOOST_TEST(writer.stats().transactions == 2u);
  BOOST_TEST(writer.stats().failed_batches == 1u);
  const auto v = tx.verbs();
  BOOST_TEST(std::count(v.begin(), v.end(), "ROLLBACK TO") == 1);
}

BOOST_AUTO_TEST_CASE(an_abandoned_transaction_fails_its_cause_and_retries_the_others) {
  ScriptedTransaction tx;
  Outcomes out;
  Gate gate;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.submit(job(0, out, [&] { return gate.hold(); }));
  gate.entered.get_future().wait();
  for (int i = 1; i <= 4; ++i) {
    writer.submit(job(i, out, [i, &tx] {
      if (i != 2) return ok_status();
      tx.abandon();  // as SQLite does after SQLITE_FULL or an I/O error
      return Status(sinetti::make_error("database or disk is full"));
    }));
  }
  gate.release.set_value();
  writer.stop();
  BOOST_TEST_REQUIRE(out.results.size() == 5u);
  for (const auto& [id, s] : out.results) BOOST_TEST(s.ok() == (id != 2), id);
  // 1 ran twice (its first transaction was lost with 2's), 3 and 4 once, in the second try.
  BOOST_TEST(std::count(out.applied.begin(), out.applied.end(), 1) == 2);
  BOOST_TEST(std::count(out.applied.begin(), out.applied.end(), 2) == 1);
  BOOST_TEST(std::count(out.applied.begin(), out.applied.end(), 3) == 1);
  BOOST_TEST(writer.stats().transactions == 2u);
  BOOST_TEST(writer.stats().failed_transactions == 1u);
}

BOOST_AUTO_TEST_CASE(a_failed_commit_fails_every_request_in_it) {
  ScriptedTransaction tx;
  Outcomes out;
  Gate gate;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.submit(job(0, out, [&] { return gate.hold(); }));
  gate.entered.get_future().wait();
  for (int i = 1; i <= 3; ++i) writer.submit(job(i, out));
  tx.fail_commit = true;
  gate.release.set_value();
  writer.stop();
  BOOST_TEST_REQUIRE(out.results.size() == 4u);
  for (const auto& [id, s] : out.results) {
    BOOST_TEST(!s.ok(), id);
    BOOST_TEST(s.error().message == "disk I/O error");
  }
  BOOST_TEST(writer.stats().transactions == 0u);
}

BOOST_AUTO_TEST_CASE(requests_after_stop_are_refused) {
  ScriptedTransaction tx;
  Outcomes out;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.stop();
  writer.submit(job(1, out));
  BOOST_TEST_REQUIRE(out.results.size() == 1u);
  BOOST_TEST(!out.results[0].second.ok());
  BOOST_TEST(out.applied.empty());
}

BOOST_AUTO_TEST_CASE(a_group_skips_the_fsync_only_when_none_of_its_requests_is_durable) {
  ScriptedTransaction tx;
  Outcomes out;
  Gate gate;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.submit(job(0, out, [&] { return gate.hold(); }));
  gate.entered.get_future().wait();
  for (int i = 1; i <= 3; ++i) writer.submit(session_job(i, out));  // the second group: sessions only
  gate.release.set_value();
  writer.stop();
  BOOST_TEST_REQUIRE(out.results.size() == 4u);
  for (const auto& [id, s] : out.results) BOOST_TEST(s.ok(), id);
  const auto v = tx.verbs();
  const std::vector<std::string> want = {"DURABLE",     "BEGIN", "SAVEPOINT", "RELEASE", "COMMIT",
                                         "NOT DURABLE", "BEGIN", "SAVEPOINT", "RELEASE", "SAVEPOINT",
                                         "RELEASE",     "SAVEPOINT", "RELEASE", "COMMIT"};
  BOOST_TEST(v == want, boost::test_tools::per_element());

  // One durable request among session writes makes the whole group durable.
  ScriptedTransaction mixed_tx;
  Outcomes mixed;
  Gate held;
  GroupCommitWriter second(mixed_tx, {});
  second.start();
  second.submit(job(0, mixed, [&] { return held.hold(); }, false));
  held.entered.get_future().wait();
  second.submit(session_job(1, mixed));
  second.submit(job(2, mixed));
  second.submit(session_job(3, mixed));
  held.release.set_value();
  second.stop();
  const auto m = mixed_tx.verbs();
  BOOST_TEST_REQUIRE(m.size() >= 7u);
  BOOST_TEST(m[0] == "NOT DURABLE");  // the held session write alone
  BOOST_TEST(std::count(m.begin(), m.end(), "DURABLE") == 1);
  BOOST_TEST(std::count(m.begin(), m.end(), "COMMIT") == 2);
  BOOST_TEST(second.stats().largest_group == 3u);
}

BOOST_AUTO_TEST_CASE(a_group_that_cannot_be_made_durable_fails_unapplied) {
  ScriptedTransaction tx;
  tx.fail_durable = true;
  Outcomes out;
  GroupCommitWriter writer(tx, {});
  writer.start();
  writer.submit(job(1, out));
  writer.stop();
  BOOST_TEST_REQUIRE(out.results.size() == 1u);
  BOOST_TEST(!out.results[0].second.ok());
  BOOST_TEST(out.results[0].second.error().message == "cannot set synchronous");
  BOOST_TEST(out.applied.empty());
  const auto v = tx.verbs();
  BOOST_TEST(std::count(v.begin(), v.end(), "BEGIN") == 0);
}

// ---- on SQLite ------------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(concurrent_submitters_share_fsyncs_and_all_succeed, Fixture) {
  auto store = open();
  constexpr int threads = 8, per_thread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  std::latch start(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        const auto id = "c" + std::to_string(t) + "-" + std::to_string(i);
        if (!store->commit(whole_message(id, 1, 10 * 1024)).ok()) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  BOOST_TEST(failures.load() == 0);
  const auto stats = store->stats();
  BOOST_TEST(stats.batches == static_cast<std::uint64_t>(threads * per_thread));
  BOOST_TEST(stats.transactions < stats.batches);
  BOOST_TEST(stats.largest_group > 1u);
  for (int t = 0; t < threads; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      const auto id = "c" + std::to_string(t) + "-" + std::to_string(i);
      const auto chunks = read_all(*store, id);
      BOOST_TEST_REQUIRE(chunks.size() == 1u);
      BOOST_TEST((chunks[0] == piece(10 * 1024, 0)));
    }
  }
  auto v = store->verify_audit();
  BOOST_TEST(v->ok);
  BOOST_TEST(v->records == static_cast<std::uint64_t>(threads * per_thread));
}

BOOST_FIXTURE_TEST_CASE(one_failing_batch_in_a_group_does_not_fail_the_others, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("dup")).ok());
  // Another connection holds the write lock, so the writer waits and the batches below pile up.
  RawDb raw(db_path);
  BOOST_TEST_REQUIRE(raw.exec("BEGIN IMMEDIATE").empty());
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 10; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    store->commit_async(whole_message(i == 4 ? "dup" : "g" + std::to_string(i)),
                        [p](Status s) { p->set_value(std::move(s)); });
    // The writer takes the first request alone and then waits for the lock; the other nine queue
    // up behind it and make the next group.
    if (i == 0) {
      while (store->stats().waiting != 0) std::this_thread::yield();
    }
  }
  raw.exec("COMMIT");
  for (int i = 0; i < 10; ++i) {
    const auto s = results[static_cast<std::size_t>(i)].get();
    BOOST_TEST(s.ok() == (i != 4), i);
    if (i != 4) BOOST_TEST(store->find_message("g" + std::to_string(i))->has_value());
  }
  const auto stats = store->stats();
  BOOST_TEST(stats.largest_group == 9u);
  BOOST_TEST(stats.transactions < stats.batches);
  BOOST_TEST(read_all(*store, "dup").size() == 2u);
  BOOST_TEST(store->verify_audit()->ok);
  BOOST_TEST(store->audit_head()->seq == 10u);  // the failed batch's audit record was rolled back with it
}

BOOST_FIXTURE_TEST_CASE(a_full_database_fails_the_batches_that_do_not_fit_and_stays_consistent, Fixture) {
  auto o = options();
  o.max_database_bytes = 1024 * 1024;
  auto store = open(o);
  int stored = 0;
  Status last = ok_status();
  for (; stored < 100; ++stored) {
    last = store->commit(whole_message("f" + std::to_string(stored), 2, 60 * 1024));
    if (!last.ok()) break;
  }
  BOOST_TEST_REQUIRE(!last.ok());
  BOOST_TEST(last.error().message.find("full") != std::string::npos, last.error().message);
  BOOST_TEST(stored > 0);
  const auto failed_id = "f" + std::to_string(stored);
  BOOST_TEST(!store->find_message(failed_id)->has_value());  // nothing half-written

  // Streaming into a full database: the piece that does not fit fails, the message stays receiving
  // with what was stored before, and can be aborted.
  BOOST_TEST_REQUIRE(store->begin_message(meta("streaming")).ok());
  auto append = store->append_chunks("streaming", {piece(60 * 1024, 1), piece(60 * 1024, 2)});
  BOOST_TEST(!append.ok());
  BOOST_TEST(((*store->find_message("streaming"))->state == MessageState::receiving));
  BOOST_TEST(store->abort("streaming").ok());

  // Shredding frees room. In a group while nearly full, the small batches fit and the big one
  // fails alone.
  BOOST_TEST_REQUIRE(*store->shred("f0", ShredReason::admin, "admin"));
  {
    RawDb raw(db_path);
    BOOST_TEST_REQUIRE(raw.exec("BEGIN IMMEDIATE").empty());
    std::vector<std::future<Status>> results;
    for (int i = 0; i < 4; ++i) {
      auto p = std::make_shared<std::promise<Status>>();
      results.push_back(p->get_future());
      const bool big = i == 1;
      store->commit_async(whole_message("x" + std::to_string(i), big ? 8 : 1, big ? 60 * 1024 : 100),
                          [p](Status s) { p->set_value(std::move(s)); });
    }
    raw.exec("COMMIT");
    for (int i = 0; i < 4; ++i) BOOST_TEST(results[static_cast<std::size_t>(i)].get().ok() == (i != 1), i);
  }
  BOOST_TEST(!store->find_message("x1")->has_value());

  // Everything committed before is intact, the file is sound, the chain verifies.
  for (int i = 1; i < stored; ++i) {
    const auto chunks = read_all(*store, "f" + std::to_string(i));
    BOOST_TEST_REQUIRE(chunks.size() == 2u);
    BOOST_TEST((chunks[1] == piece(60 * 1024, 1)));
  }
  BOOST_TEST(store->verify_audit()->ok);
  {
    RawDb raw(db_path);
    BOOST_TEST(raw.text("PRAGMA integrity_check") == "ok");
    BOOST_TEST(raw.integer("SELECT COUNT(*) FROM messages WHERE state = 'receiving'") == 0);
  }

  // With more room the message that did not fit is stored whole.
  for (int i = 1; i < 4 && i < stored; ++i) {
    BOOST_TEST_REQUIRE(*store->shred("f" + std::to_string(i), ShredReason::admin, "admin"));
  }
  BOOST_TEST(store->commit(whole_message(failed_id, 2, 60 * 1024)).ok());
  BOOST_TEST(read_all(*store, failed_id).size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
