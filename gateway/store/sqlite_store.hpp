// SqliteStore: the embedded Store (DESIGN "Storage"): one SQLite file in WAL mode with
// synchronous=FULL (both verified after opening; anything else is refused; a commit holding only
// portal session writes runs with NORMAL, see store.hpp), busy_timeout and
// foreign keys on, versioned migrations at open, file and its -wal/-shm created 0600. One writer
// thread with group commit (group_commit.hpp) owns the only writing connection; a small pool of
// read connections serves the blocking reads concurrently (WAL readers do not wait for the writer).
// At open, messages a crash left in `receiving` are deleted — only by the process that holds the
// store's lock file, so a CLI command opening a running gateway's store leaves its sessions alone.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"

namespace sinetti::store {

struct SqliteOptions {
  std::filesystem::path path;                   // the database file; its directory must exist
  std::size_t read_connections = 4;             // 1..64
  std::chrono::milliseconds busy_timeout{5000}; // wait for another process's write lock
  bool group_commit = true;                     // false: one transaction per write request
  std::size_t max_group = 512;                  // write requests per transaction at most
  std::size_t max_chunk_size = 64 * 1024 + 4096;  // one sealed piece: 64 KiB + sealing overhead
  // 0: no limit. Otherwise writes that would grow the file beyond it fail as "database or disk is
  // full" and leave nothing half-written (SQLite's max_page_count).
  std::uint64_t max_database_bytes = 0;
  // After a shred the log is checkpointed and truncated (no old copy of a wrapped key stays in it):
  // at the first commit after which the writer has nothing queued, and under a steady stream of
  // writes at most this long after the previous checkpoint.
  std::chrono::milliseconds checkpoint_interval{1000};
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the store. `clock` must outlive the store; `hash` is the audit chain's hash.
  static Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options, const Clock& clock,
                                                   HashFunction hash);
  ~SqliteStore() override;  // finishes the queued writes, then closes

  void begin_message_async(MessageMeta meta, Completion<std::monostate> done) override;
  void append_chunks_async(MessageId id, std::vector<Chunk> pieces, Completion<std::monostate> done) override;
  void commit_async(CommitBatch batch, Completion<std::monostate> done) override;
  void abort_async(MessageId id, Completion<std::monostate> done) override;

  std::unique_ptr<ReadScope> read_scope() override;
  Result<std::optional<MessageMeta>> find_message(const MessageId& id) override;
  Result<std::uint32_t> for_each_chunk(const MessageId& id, const ChunkVisitor& visit) override;
  Result<std::optional<Bytes>> read_chunk(const MessageId& id, std::uint32_t seq) override;

  Result<bool> shred(const MessageId& id, ShredReason reason, const std::string& actor) override;
  Result<bool> revoke(const MessageId& id, const std::string& actor) override;
  Result<std::size_t> expire(Timestamp now, std::size_t limit) override;
  Result<bool> set_message_state(const MessageId& id, MessageState from, MessageState to,
                                 const AuditEvents& audit) override;

  Result<std::vector<WrappedKey>> list_wrapped_keys(const MessageId& after_id, std::size_t limit,
                                                    std::optional<std::uint32_t> other_than) override;
  Result<std::size_t> rewrap(const std::vector<Rewrap>& keys) override;

  Status add_tokens(const std::vector<ReadToken>& tokens, const AuditEvents& audit) override;
  Result<std::optional<ReadToken>> find_token(const Hash& token_hash) override;
  Result<std::size_t> revoke_token(const Hash& token_hash, const AuditEvents& audit) override;
  Result<std::size_t> revoke_tokens(const MessageId& id, const AuditEvents& audit) override;

  Result<PinIssue> issue_pin_challenge(const PinChallenge& challenge, const PinLimits& limits,
                                       const std::string& actor) override;
  Result<PinAttempt> attempt_pin(const std::string& challenge_id, const Bytes& candidate_mac,
                                 const PinLimits& limits, const std::string& actor) override;
  Result<std::optional<PinChallenge>> find_open_pin_challenge(const Hash& token_hash) override;
  Result<PinCounters> pin_counters(const MessageId& id) override;

  Result<bool> bind_device(const DeviceBinding& binding, const AuditEvents& audit) override;
  Result<bool> is_device_bound(const Hash& token_hash, const Hash& device_hash) override;

  Result<std::vector<QueueEntry>> lease_due(const std::string& owner, Timestamp now, std::size_t limit,
                                            std::chrono::milliseconds lease_for) override;
  void lease_due_async(std::string owner, Timestamp now, std::size_t limit, std::chrono::milliseconds lease_for,
                       Completion<std::vector<QueueEntry>> done) override;
  Status complete(const std::string& id, const std::string& owner, const AuditEvents& audit) override;
  void complete_async(std::string id, std::string owner, AuditEvents audit, std::optional<MessageId> shred_when_done,
                      std::string actor, Completion<Completed> done) override;
  Status defer(const std::string& id, const std::string& owner, Timestamp next_attempt, const std::string& error,
               const AuditEvents& audit) override;
  Status fail(const std::string& id, const std::string& owner, const std::string& error,
              const AuditEvents& audit) override;
  Result<std::vector<QueueEntry>> list_queue(const QueueFilter& filter) override;
  Result<std::optional<QueueEntry>> find_queue_entry(const std::string& id) override;
  Result<bool> retry(const std::string& id, const AuditEvents& audit) override;
  Result<bool> drop(const std::string& id, const AuditEvents& audit) override;
  Result<std::size_t> purge_queue(Timestamp before) override;
  Result<std::size_t> pending_deliveries(const MessageId& id) override;
  Result<std::size_t> release_leases(const std::string& owner_prefix) override;

  Status put_session(const Session& session) override;
  Result<std::optional<Session>> find_session(const Hash& id_hash) override;
  Result<bool> touch_session(const Hash& id_hash, const std::optional<Bytes>& data) override;
  Result<bool> delete_session(const Hash& id_hash) override;
  Status replace_session(const Hash& old_id_hash, const Session& fresh) override;
  Result<bool> set_session_identity(const Hash& id_hash, const std::optional<Bytes>& identity) override;
  Result<std::size_t> purge_sessions(Timestamp now, Timestamp idle_before) override;
  Result<bool> use_once(OnceKind kind, const Hash& value_hash, Timestamp expires) override;

  Result<std::optional<Thread>> find_thread(const std::string& id) override;
  Result<std::vector<Thread>> threads_for_identity(const Bytes& identity, std::size_t limit) override;
  Result<std::vector<MessageMeta>> thread_messages(const std::string& thread_id, std::size_t limit) override;
  Result<bool> set_thread_state(const std::string& id, ThreadState from, ThreadState to,
                                const AuditEvents& audit) override;
  Result<ClaimOutcome> claim(const Claim& claim, const AuditEvents& audit) override;
  Result<std::optional<Claim>> find_claim(const MessageId& message_id) override;
  Result<bool> release_claim(const MessageId& message_id, const AuditEvents& audit) override;
  Result<bool> reassign_claim(const Claim& claim, const AuditEvents& audit) override;
  Status upsert_staff_member(const StaffMember& member) override;
  Result<std::optional<StaffMember>> find_staff_member(const std::string& subject) override;
  Result<std::vector<StaffMember>> staff_members_in(const std::string& group, std::size_t limit) override;
  Result<ConversationPurge> purge_conversations(Timestamp staff_seen_before) override;

  Status append_audit(const AuditEvents& events) override;
  Result<AuditHead> audit_head() override;
  Result<AuditVerification> verify_audit() override;
  Result<std::uint64_t> export_audit(std::uint64_t after_seq, const AuditVisitor& visit) override;
  Result<std::uint64_t> purge_audit(Timestamp older_than, const std::string& actor) override;
  Result<std::optional<AuditCheckpoint>> audit_checkpoint() override;

  StoreStats stats() const override;

 protected:
  bool on_writer_thread() const override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinetti::store
