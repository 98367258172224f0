// Group commit: one writer thread, one transaction per group of waiting requests.
#include "gateway/store/group_commit.hpp"

#include <algorithm>
#include <vector>

namespace sinetti::store {

GroupCommitWriter::GroupCommitWriter(TransactionControl& tx, GroupCommitOptions options)
    : tx_(tx), options_(options) {
  options_.max_group = std::max<std::size_t>(1, options_.max_group);
  if (!options_.group_commit) options_.max_group = 1;
}

GroupCommitWriter::~GroupCommitWriter() { stop(); }

void GroupCommitWriter::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
  thread_id_ = thread_.get_id();
}

void GroupCommitWriter::submit(std::unique_ptr<WriteJob> job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && started_) {
      queue_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  job->finish(make_error("store: closed"));
}

void GroupCommitWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (on_writer_thread()) return;  // a completion asked to stop; the owner joins
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
}

bool GroupCommitWriter::on_writer_thread() const {
  std::lock_guard lock(mutex_);
  return started_ && std::this_thread::get_id() == thread_id_;
}

StoreStats GroupCommitWriter::stats() const {
  std::lock_guard lock(mutex_);
  StoreStats s = stats_;
  s.waiting = queue_.size();
  return s;
}

void GroupCommitWriter::run() {
  for (;;) {
    std::deque<std::unique_ptr<WriteJob>> group;
    const std::optional<std::chrono::milliseconds> idle_in = tx_.idle_work_in();
    bool idle = false;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return stopping_ || !queue_.empty(); };
      if (idle_in) {
        idle = !wake_.wait_for(lock, *idle_in, ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (!idle && queue_.empty()) {  // stopping and drained: what was put off runs now
        lock.unlock();
        if (tx_.idle_work_in()) tx_.idle_work();
        return;
      }
      while (!idle && !queue_.empty() && group.size() < options_.max_group) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (idle) {
      tx_.idle_work();
      continue;
    }
    run_group(group);
  }
}

void GroupCommitWriter::run_group(std::deque<std::unique_ptr<WriteJob>>& group) {
  const std::size_t n = group.size();
  std::vector<std::optional<Status>> outcome(n);
  std::vector<std::size_t> pending(n);
  for (std::size_t i = 0; i < n; ++i) pending[i] = i;
  std::uint64_t commits = 0, failed_commits = 0;

  while (!pending.empty()) {
    const bool durable = std::any_of(pending.begin(), pending.end(), [&](std::size_t i) { return group[i]->durable(); });
    Status begun = tx_.set_durable(durable);
    if (begun) begun = tx_.begin();
    if (!begun) {
      for (const auto i : pending) outcome[i] = begun.error();
      ++failed_commits;
      break;
    }
    std::vector<std::size_t> applied;
    std::vector<std::size_t> retry;
    bool abandoned = false;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const std::size_t i = pending[k];
      if (abandoned) {
        retry.push_back(i);
        continue;
      }
      Status status = tx_.savepoint();
      if (status) status = group[i]->apply();
      if (status) status = tx_.release();
      if (status) {
        applied.push_back(i);
        continue;
      }
      if (tx_.in_transaction() && tx_.rollback_to_savepoint()) {
        outcome[i] = status;  // fails alone
        continue;
      }
      // The backend abandoned the transaction: this request fails, the ones already applied and
      // the ones not yet tried run again in a new transaction.
      outcome[i] = status;
      if (tx_.in_transaction()) tx_.rollback();
      abandoned = true;
      retry.insert(retry.end(), applied.begin(), applied.end());
      applied.clear();
      ++failed_commits;
    }
    if (!abandoned) {
      if (auto committed = tx_.commit(); committed) {
        for (const auto i : applied) outcome[i] = ok_status();
        ++commits;
        bool more_waiting = false;
        {
          std::lock_guard lock(mutex_);
          more_waiting = !queue_.empty();
        }
        tx_.after_commit(more_waiting);
      } else {
        tx_.rollback();
        for (const auto i : applied) outcome[i] = committed.error();
        ++failed_commits;
      }
      retry.clear();
    } else {
      std::sort(retry.begin(), retry.end());
    }
    pending = std::move(retry);
  }

  std::uint64_t failed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!outcome[i]) outcome[i] = make_error("store: write not applied");
    if (!outcome[i]->ok()) ++failed;
  }
  {
    std::lock_guard lock(mutex_);
    stats_.batches += n;
    stats_.failed_batches += failed;
    stats_.transactions += commits;
    stats_.failed_transactions += failed_commits;
    stats_.largest_group = std::max<std::uint64_t>(stats_.largest_group, n);
  }
  for (std::size_t i = 0; i < n; ++i) group[i]->finish(std::move(*outcome[i]));
}

}  // namespace sinetti::store
