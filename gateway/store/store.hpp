// Store: the one durable home of sealed messages, the delivery queue, read links, PIN challenges,
// device bindings, portal sessions and the audit hash chain (DESIGN "Storage", "Durability").
// Implementations: SqliteStore (embedded, WAL); PostgresStore follows behind the same interface.
//
// Writes go through one writer that commits in groups: every request waiting while the writer is
// busy joins the next transaction, each in its own savepoint, so one failing request fails alone and
// the whole group costs one fsync. A completion is called only once its transaction is durable (or
// has failed), on the writer's thread: it must not block, throw, or call a blocking Store method
// (those return an error when called there). Reads are blocking and meant for the worker pool; a
// visitor (chunks, audit export) must not call the Store. An `audit` argument is appended to the
// chain in the same transaction as the change it describes, and only if that change happened.
// All methods are safe to call from any thread. Errors are values; none is fatal to the store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "gateway/store/types.hpp"

namespace sinetti::store {

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- storing a message: create, stream, then commit (OpenSMTPD style) ---------------------------
  // Creates the message in state `receiving` (the store sets `created`).
  virtual void begin_message_async(MessageMeta meta, Completion<std::monostate> done) = 0;
  // Appends sealed pieces to a `receiving` message while DATA streams in.
  virtual void append_chunks_async(MessageId id, std::vector<Chunk> pieces, Completion<std::monostate> done) = 0;
  // Makes the batch durable in one transaction; the SMTP layer replies 250 only after `done` is ok.
  virtual void commit_async(CommitBatch batch, Completion<std::monostate> done) = 0;
  // Deletes a `receiving` message and everything streamed for it.
  virtual void abort_async(MessageId id, Completion<std::monostate> done) = 0;

  // Blocking forms of the four above.
  Status begin_message(MessageMeta meta);
  Status append_chunks(MessageId id, std::vector<Chunk> pieces);
  Status commit(CommitBatch batch);
  Status abort(MessageId id);

  // ---- reads from one snapshot ---------------------------------------------------------------------
  // While the returned scope lives, this thread's reads share one read connection and one snapshot
  // — the database as it was at the scope's first read — instead of each read starting and ending
  // a transaction of its own (a page that looks up a session, a link and its message pays for one).
  // A write made inside the scope, even by this thread, is not seen by the scope's later reads: use
  // a scope only around reads that do not depend on such a write. Other threads are not affected;
  // a scope inside a scope, or on the writer's thread, changes nothing. The default does nothing.
  class ReadScope {
   public:
    virtual ~ReadScope() = default;
  };
  virtual std::unique_ptr<ReadScope> read_scope() { return nullptr; }

  // ---- messages: reads ------------------------------------------------------------------------------
  virtual Result<std::optional<MessageMeta>> find_message(const MessageId& id) = 0;
  // Calls `visit` for each chunk in sequence order, one chunk in memory at a time, inside one
  // read snapshot. Returns the number of chunks visited. Not for slow consumers: use read_chunk.
  virtual Result<std::uint32_t> for_each_chunk(const MessageId& id, const ChunkVisitor& visit) = 0;
  // One chunk, for cursors that cross I/O waits; nullopt past the end or once shredded.
  virtual Result<std::optional<Bytes>> read_chunk(const MessageId& id, std::uint32_t seq) = 0;

  // ---- messages: lifecycle --------------------------------------------------------------------------
  // Crypto-shredding: drops the wrapped key, the chunks, the read tokens, PIN challenges and device
  // bindings, drops the message's pending queue entries, keeps the row for the audit, and appends
  // an audit record by `actor`. Returns false if the message was already shredded.
  virtual Result<bool> shred(const MessageId& id, ShredReason reason, const std::string& actor) = 0;
  // shred(id, revoked, actor).
  virtual Result<bool> revoke(const MessageId& id, const std::string& actor) = 0;
  // Shreds up to `limit` messages whose `expires` is at or before `now` (reason expired, actor
  // "system"). Returns how many; call again while it returns `limit`.
  virtual Result<std::size_t> expire(Timestamp now, std::size_t limit) = 0;
  // stored <-> locked, only from `from`; returns false if the message was not in `from`.
  virtual Result<bool> set_message_state(const MessageId& id, MessageState from, MessageState to,
                                         const AuditEvents& audit) = 0;

  // ---- key rotation (`sinetti keys rotate --rewrap`) -------------------------------------------------
  // Messages that still hold a wrapped key, ordered by id, after `after_id`; `other_than`: skip
  // keys already under that KEK.
  virtual Result<std::vector<WrappedKey>> list_wrapped_keys(const MessageId& after_id, std::size_t limit,
                                                            std::optional<std::uint32_t> other_than) = 0;
  // Replaces wrapped keys whose message still holds a key under `old_kek_id` (a message shredded
  // in between stays shredded). Returns how many were replaced.
  virtual Result<std::size_t> rewrap(const std::vector<Rewrap>& keys) = 0;

  // ---- read links -----------------------------------------------------------------------------------
  virtual Status add_tokens(const std::vector<ReadToken>& tokens, const AuditEvents& audit) = 0;
  // The token as stored, also when expired or revoked: the caller decides what to show.
  virtual Result<std::optional<ReadToken>> find_token(const Hash& token_hash) = 0;
  // Returns how many tokens were revoked (already revoked ones are not counted).
  virtual Result<std::size_t> revoke_token(const Hash& token_hash, const AuditEvents& audit) = 0;
  virtual Result<std::size_t> revoke_tokens(const MessageId& id, const AuditEvents& audit) = 0;

  // ---- PIN unlock -----------------------------------------------------------------------------------
  // Atomically checks the limits and stores the challenge; earlier open challenges for the same
  // token stop being valid. Appends an "unlock.pin_issued" audit record by `actor`.
  virtual Result<PinIssue> issue_pin_challenge(const PinChallenge& challenge, const PinLimits& limits,
                                               const std::string& actor) = 0;
  // Atomically counts the attempt and compares `candidate_mac` with the stored MAC in constant
  // time; a match consumes the challenge. Appends an "unlock.pin" audit record by `actor`.
  virtual Result<PinAttempt> attempt_pin(const std::string& challenge_id, const Bytes& candidate_mac,
                                         const PinLimits& limits, const std::string& actor) = 0;
  // The newest challenge for a read link that is neither consumed nor expired.
  virtual Result<std::optional<PinChallenge>> find_open_pin_challenge(const Hash& token_hash) = 0;
  virtual Result<PinCounters> pin_counters(const MessageId& id) = 0;

  // ---- device confirmation (letter) -----------------------------------------------------------------
  // Binds the first device that confirms a read link; returns false, and records nothing, if the
  // link already has a device (this one or another: a sealed letter opens on one device only).
  virtual Result<bool> bind_device(const DeviceBinding& binding, const AuditEvents& audit) = 0;
  virtual Result<bool> is_device_bound(const Hash& token_hash, const Hash& device_hash) = 0;

  // ---- delivery queue -------------------------------------------------------------------------------
  // Atomically claims up to `limit` entries that are due at `now` (queued with next_attempt <= now,
  // or leased with an expired lease: its holder crashed) for `owner` until now + lease_for, counting
  // an attempt on each. No entry is held by two owners at once.
  virtual Result<std::vector<QueueEntry>> lease_due(const std::string& owner, Timestamp now, std::size_t limit,
                                                    std::chrono::milliseconds lease_for) = 0;
  // The same, asynchronously: `done` runs on the writer thread (no thread waits for the lease).
  virtual void lease_due_async(std::string owner, Timestamp now, std::size_t limit, std::chrono::milliseconds lease_for,
                               Completion<std::vector<QueueEntry>> done) = 0;
  // The three ends of a lease; each fails if `owner` no longer holds the lease on `id`.
  virtual Status complete(const std::string& id, const std::string& owner, const AuditEvents& audit) = 0;
  // complete() and, when `shred_when_done` names the entry's message and no entry of it is queued
  // or leased any more, shred(message, delivered, actor) — in one transaction, one commit. A shred
  // that fails leaves the completion standing and is reported in `shred_error`.
  virtual void complete_async(std::string id, std::string owner, AuditEvents audit,
                              std::optional<MessageId> shred_when_done, std::string actor,
                              Completion<Completed> done) = 0;
  virtual Status defer(const std::string& id, const std::string& owner, Timestamp next_attempt,
                       const std::string& error, const AuditEvents& audit) = 0;
  virtual Status fail(const std::string& id, const std::string& owner, const std::string& error,
                      const AuditEvents& audit) = 0;
  // `sinetti queue list|retry ID|drop ID`. retry: failed or queued (or leased with its lease run
  // out) becomes queued, due now — never one whose delivery is under way, which would then run
  // twice at once; drop: anything not done becomes dropped (a lease is broken). false: no such
  // entry or not in a state that allows it.
  virtual Result<std::vector<QueueEntry>> list_queue(const QueueFilter& filter) = 0;
  virtual Result<std::optional<QueueEntry>> find_queue_entry(const std::string& id) = 0;
  virtual Result<bool> retry(const std::string& id, const AuditEvents& audit) = 0;
  virtual Result<bool> drop(const std::string& id, const AuditEvents& audit) = 0;
  // Deletes done, failed and dropped entries last changed before `before`.
  virtual Result<std::size_t> purge_queue(Timestamp before) = 0;
  // Entries of the message still queued or leased (a spool copy is shredded once none is left).
  virtual Result<std::size_t> pending_deliveries(const MessageId& id) = 0;
  // Makes entries leased by owners whose name starts with `owner_prefix` due again at once: a
  // process that starts on a host frees the leases its dead predecessor on that host held. The
  // attempts already counted stay. Returns how many.
  virtual Result<std::size_t> release_leases(const std::string& owner_prefix) = 0;

  // ---- portal sessions ------------------------------------------------------------------------------
  // put_session, touch_session and replace_session return once their transaction is committed and
  // visible to every reader, without waiting for the disk unless something durable shares the
  // commit: a landing page (also a link scanner's) costs no fsync. A session is only a login and a
  // form token — the PIN tries, device bindings, audit records and messages it leads to are always
  // durable — so a power failure (never a crash of the process) can at worst cost the last moments'
  // visitors a sign-in again (a session replaced at an unlock can come back as it was before, without
  // what the unlock added). delete_session (expiry, sign-out) is durable.
  // Creates a session (the store sets created and last_seen); fails if the id exists.
  virtual Status put_session(const Session& session) = 0;
  // nullopt if unknown or past its absolute expiry; idle expiry is the caller's policy.
  virtual Result<std::optional<Session>> find_session(const Hash& id_hash) = 0;
  // Sets last_seen to now and, if given, replaces the data. false: unknown session.
  virtual Result<bool> touch_session(const Hash& id_hash, const std::optional<Bytes>& data) = 0;
  virtual Result<bool> delete_session(const Hash& id_hash) = 0;
  // A new session id for a session (at every unlock and identification): deletes `old_id_hash`
  // (if it is still there) and creates `fresh` in one transaction.
  virtual Status replace_session(const Hash& old_id_hash, const Session& fresh) = 0;
  // Sets (or with nullopt clears) the session's verified identity and counts as activity. false:
  // unknown session.
  virtual Result<bool> set_session_identity(const Hash& id_hash, const std::optional<Bytes>& identity) = 0;
  // Deletes sessions past their absolute expiry at `now` or last seen before `idle_before`, and
  // single-use records (use_once) past their expiry.
  virtual Result<std::size_t> purge_sessions(Timestamp now, Timestamp idle_before) = 0;
  // Records a value that may be used once (an authorization code, a nonce; by its hash) until
  // `expires`. true: first use; false: seen before (a replay).
  virtual Result<bool> use_once(OnceKind kind, const Hash& value_hash, Timestamp expires) = 0;

  // ---- threads and team claims --------------------------------------------------------------------
  // Threads are created with CommitBatch::threads, together with their first message.
  virtual Result<std::optional<Thread>> find_thread(const std::string& id) = 0;
  // The threads bound to a client identity key, newest first.
  virtual Result<std::vector<Thread>> threads_for_identity(const Bytes& identity, std::size_t limit) = 0;
  // The messages of a thread (any kind but notifications and DSNs), oldest first.
  virtual Result<std::vector<MessageMeta>> thread_messages(const std::string& thread_id, std::size_t limit) = 0;
  // open <-> closed, only from `from`; false if the thread was not in `from`.
  virtual Result<bool> set_thread_state(const std::string& id, ThreadState from, ThreadState to,
                                        const AuditEvents& audit) = 0;
  // The first caller claims the message (the store sets `claimed`); later callers get the claim in
  // force. `audit` is appended only when this call claimed it.
  virtual Result<ClaimOutcome> claim(const Claim& claim, const AuditEvents& audit) = 0;
  virtual Result<std::optional<Claim>> find_claim(const MessageId& message_id) = 0;
  // A team lead's release: the message is unclaimed again. false: it was not claimed.
  virtual Result<bool> release_claim(const MessageId& message_id, const AuditEvents& audit) = 0;
  // A team lead's reassignment to another member (the store sets `claimed` anew). false: it was not
  // claimed (nothing to reassign; use claim()).
  virtual Result<bool> reassign_claim(const Claim& claim, const AuditEvents& audit) = 0;

  // ---- staff members ------------------------------------------------------------------------------
  // At a staff sign-in: the member's name, e-mail and groups now (the store sets `seen`).
  virtual Status upsert_staff_member(const StaffMember& member) = 0;
  virtual Result<std::optional<StaffMember>> find_staff_member(const std::string& subject) = 0;
  // The members whose groups at their last sign-in include `group`, by name; at most `limit`.
  virtual Result<std::vector<StaffMember>> staff_members_in(const std::string& group, std::size_t limit) = 0;

  // Retention of what outlives its messages: claims of shredded messages, threads none of whose
  // messages is left unshredded (with them the client's identity key and notification address),
  // and staff members last seen before `staff_seen_before`. One transaction.
  virtual Result<ConversationPurge> purge_conversations(Timestamp staff_seen_before) = 0;

  // ---- audit hash chain -----------------------------------------------------------------------------
  virtual Status append_audit(const AuditEvents& events) = 0;
  virtual Result<AuditHead> audit_head() = 0;
  // Walks the whole chain from the checkpoint; reports the first bad sequence number.
  virtual Result<AuditVerification> verify_audit() = 0;
  // Records with seq > after_seq in order; returns how many were visited.
  virtual Result<std::uint64_t> export_audit(std::uint64_t after_seq, const AuditVisitor& visit) = 0;
  // Retention: deletes the oldest records, those before `older_than` (never past a newer one),
  // moves the checkpoint to the last deleted record and appends an "audit.purged" record.
  virtual Result<std::uint64_t> purge_audit(Timestamp older_than, const std::string& actor) = 0;
  virtual Result<std::optional<AuditCheckpoint>> audit_checkpoint() = 0;

  virtual StoreStats stats() const = 0;

 protected:
  // True on the thread that calls completions; the blocking forms refuse to wait there.
  virtual bool on_writer_thread() const = 0;
};

}  // namespace sinetti::store
