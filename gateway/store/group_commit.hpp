// GroupCommitWriter: the single writer thread of a store (DESIGN "Durability"). Every write request
// waiting when the writer becomes free joins one transaction, each request inside its own savepoint,
// and the group ends with one COMMIT — one fsync for all of them. A request that fails is rolled back
// to its savepoint and fails alone; if the backend abandons the whole transaction (disk full, I/O
// error) the failing request gets its error and the others run again in a fresh transaction; if the
// COMMIT itself fails, every request of the group gets that error. Completions are called on the
// writer thread after the outcome is final, in submission order.
// Backend-neutral: SQLite and PostgreSQL both have SAVEPOINT / RELEASE / ROLLBACK TO.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "gateway/store/types.hpp"

namespace sinetti::store {

// The transaction verbs of one backend connection, used only from the writer thread.
class TransactionControl {
 public:
  virtual ~TransactionControl() = default;
  virtual Status begin() = 0;
  virtual Status savepoint() = 0;
  virtual Status release() = 0;
  virtual Status rollback_to_savepoint() = 0;  // and release it
  virtual Status commit() = 0;
  virtual void rollback() = 0;
  // False once the backend has abandoned the transaction on its own (after a fatal error).
  virtual bool in_transaction() = 0;
  // Called before each begin(): whether the transaction's COMMIT must be on stable storage when it
  // returns (true), or may get there with a later commit or checkpoint (false: such a commit is
  // lost only if the machine fails before that, never when the process dies — SQLite's WAL with
  // synchronous=NORMAL, PostgreSQL's synchronous_commit=off). An error fails the group.
  virtual Status set_durable(bool /*durable*/) { return ok_status(); }
  // Called after each successful COMMIT, on the writer thread (e.g. a checkpoint after shredding).
  // `more_waiting`: further requests are already queued, so the next group starts at once.
  virtual void after_commit(bool /*more_waiting*/) {}
  // Work after_commit() put off (a paced checkpoint): how long until it is due, or none. Asked on
  // the writer thread before it waits for requests; when the writer has had nothing to do for that
  // long it calls idle_work(), and it calls it once more before its thread ends.
  virtual std::optional<std::chrono::milliseconds> idle_work_in() { return std::nullopt; }
  virtual void idle_work() {}
};

// One write request. apply() runs inside a savepoint and may run more than once (when its group's
// transaction is abandoned because of another request), so it must not consume its inputs.
class WriteJob {
 public:
  virtual ~WriteJob() = default;
  virtual Status apply() = 0;
  // The final outcome: apply()'s error, the COMMIT's error, or ok once durable.
  virtual void finish(Status outcome) = 0;
  // False: the request may be committed without waiting for the disk (TransactionControl::set_durable);
  // a group is committed that way only when none of its requests is durable.
  virtual bool durable() const { return true; }
};

// A WriteJob from a function returning Result<T> and a completion taking it.
template <typename T>
class FunctionJob final : public WriteJob {
 public:
  FunctionJob(std::function<Result<T>()> fn, Completion<T> done, bool durable = true)
      : fn_(std::move(fn)), done_(std::move(done)), durable_(durable) {}
  Status apply() override {
    result_.emplace(fn_());
    if (result_->ok()) return ok_status();
    return result_->error();
  }
  void finish(Status outcome) override {
    if (!outcome.ok()) {
      done_(outcome.error());
    } else {
      done_(std::move(*result_));
    }
  }
  bool durable() const override { return durable_; }

 private:
  std::function<Result<T>()> fn_;
  Completion<T> done_;
  bool durable_;
  std::optional<Result<T>> result_;
};

struct GroupCommitOptions {
  bool group_commit = true;      // false: one transaction per request (the benchmark's baseline)
  std::size_t max_group = 512;   // requests per transaction at most
};

class GroupCommitWriter {
 public:
  // `tx` must outlive the writer; start() launches the thread.
  GroupCommitWriter(TransactionControl& tx, GroupCommitOptions options);
  ~GroupCommitWriter();  // stop()
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  void start();
  // Queues a request; after stop() has begun it is finished at once with an error.
  void submit(std::unique_ptr<WriteJob> job);
  // Runs what is queued, then joins the thread. Idempotent.
  void stop();

  bool on_writer_thread() const;
  StoreStats stats() const;  // batches, failed_batches, transactions, failed_transactions, largest_group

 private:
  void run();
  void run_group(std::deque<std::unique_ptr<WriteJob>>& group);

  TransactionControl& tx_;
  GroupCommitOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<WriteJob>> queue_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;
  std::once_flag joined_;
  std::thread::id thread_id_;
  StoreStats stats_;
};

}  // namespace sinetti::store
