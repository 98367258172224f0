// Value types of the message store: what the SMTP ingest, the delivery queue, the portal and the
// audit log hand to a Store and get back. No backend appears here; every time is integer
// milliseconds UTC and every enum has a stable text form, so SQLite and PostgreSQL store the same.
// The store is crypto-agnostic: content, data keys and phone numbers arrive already sealed, tokens,
// session ids and identities as hashes. Nothing here is parsed from the network.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::store {

using Bytes = std::vector<std::uint8_t>;
using Hash = std::array<std::uint8_t, 32>;
// SHA-256 (or a keyed variant such as HMAC-SHA-256) for the audit hash chain, injected by the
// layer that owns the crypto so the store needs none.
using HashFunction = std::function<Hash(std::span<const std::uint8_t>)>;
// Every stored time: milliseconds since the Unix epoch, UTC.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;
using Status = Result<std::monostate>;
template <typename T>
using Completion = std::function<void(Result<T>)>;

inline Timestamp to_timestamp(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::milliseconds>(t);
}
inline Status ok_status() { return std::monostate{}; }

// A message id is chosen by the caller (short, queue-id-like): 1..64 of [A-Za-z0-9._-], so it is
// safe in logs, file names and SQL of any backend.
using MessageId = std::string;
inline constexpr std::size_t max_message_id_length = 64;
bool valid_message_id(std::string_view id);

// ---- messages -----------------------------------------------------------------------------------

enum class MessageKind {
  protected_message,  // "protected": sealed for a recipient who opens it in the portal
  spool,              // forwarded mail waiting for delivery (sealed like everything else)
  notification,       // the generated notification mail carrying a read link
  dsn,                // a delivery status notification (bounce)
};

enum class MessageState {
  receiving,  // begin_message done, DATA still streaming; removed at open after a crash
  stored,     // committed
  locked,     // unlock blocked (e.g. too many PIN failures); content still present
  shredded,   // data key and content destroyed (erasure, delivered spool, admin)
  revoked,    // shredded because the sender revoked it
  expired,    // shredded because it passed `expires`
};
bool is_shredded(MessageState state);

enum class ProtectionLevel { none, letter, sms, personal };

enum class UnlockKind {
  none,      // no unlock step (spool, notification, dsn) or letter without device binding
  phone,     // SMS PIN to `UnlockPolicy::sealed_phone`
  identity,  // strong identification matching `UnlockPolicy::identity_hash`
  device,    // "open on this device" confirmation (letter)
};

struct UnlockPolicy {
  UnlockKind kind = UnlockKind::none;
  Bytes sealed_phone;   // phone: the number sealed by the layer above (never in clear here)
  Bytes identity_hash;  // identity: keyed hash of the personal identity code
  bool operator==(const UnlockPolicy&) const = default;
};

struct MessageMeta {
  MessageId id;
  MessageKind kind = MessageKind::spool;
  ProtectionLevel protection = ProtectionLevel::none;
  UnlockPolicy unlock;
  std::string sender;                   // envelope sender; empty for the null sender <>
  std::vector<std::string> recipients;  // in envelope order
  std::string team_id;                  // empty: none
  std::string thread_id;                // empty: none
  std::string language;                 // "fi", "sv", "en"; empty: instance default
  std::uint64_t size = 0;               // bytes of the original message (set again at commit)
  std::optional<Timestamp> expires;     // expire() shreds the message after this time
  std::optional<Bytes> wrapped_key;     // the data key wrapped by KEK `kek_id`; nullopt once shredded
  std::uint32_t kek_id = 0;

  // Kept by the store; ignored on input.
  MessageState state = MessageState::receiving;
  Timestamp created{};
  std::optional<Timestamp> stored;
  std::uint32_t chunk_count = 0;
  std::uint32_t pin_failures = 0;  // PIN failures over the message's life (all challenges)
  std::optional<Timestamp> shredded;
  std::string shred_reason;
};

enum class ShredReason { expired, revoked, erased, delivered, admin };

// A sealed content piece: at most SqliteOptions::max_chunk_size bytes, stored with sequence numbers
// 0, 1, 2 ... in the order handed over.
using Chunk = Bytes;
// Receives each chunk in order; return false to stop early.
using ChunkVisitor = std::function<bool(std::uint32_t seq, std::span<const std::uint8_t> bytes)>;

// For `sinetti keys rotate --rewrap`.
struct WrappedKey {
  MessageId id;
  std::uint32_t kek_id = 0;
  Bytes wrapped_key;
};
struct Rewrap {
  MessageId id;
  std::uint32_t old_kek_id = 0;  // compare-and-set: applied only while the key is still this one
  std::uint32_t new_kek_id = 0;
  Bytes wrapped_key;
};

// ---- read links -----------------------------------------------------------------------------------

enum class TokenPurpose { read, reply, device };

struct ReadToken {
  Hash token_hash{};  // SHA-256 of the link token; the token itself is never stored
  MessageId message_id;
  std::string recipient;             // the address the link was sent to
  std::uint32_t recipient_index = 0; // its position in MessageMeta::recipients
  TokenPurpose purpose = TokenPurpose::read;
  Timestamp expires{};
  Timestamp created{};               // kept by the store
  std::optional<Timestamp> revoked;  // kept by the store
};

// ---- PIN unlock (NIST SP 800-63B §5.1.3.2: short-lived, single use, attempt-limited) --------------

struct PinChallenge {
  std::string id;     // chosen by the caller (random); binds the MAC to this request
  MessageId message_id;
  Hash token_hash{};  // the read link the PIN was requested from
  Bytes mac;          // MAC of the PIN under the server key, computed above
  Timestamp expires{};
  Timestamp created{};                // kept by the store
  std::uint32_t attempts = 0;         // kept by the store
  std::optional<Timestamp> consumed;  // kept by the store
};

struct PinLimits {
  std::uint32_t max_attempts = 5;    // per challenge
  std::uint32_t max_per_hour = 5;    // challenges issued per message in the last hour
  std::uint32_t max_failures = 100;  // failures per message over its life, then locked
};

enum class PinIssue { issued, rate_limited, locked };
enum class PinVerdict { accepted, wrong, expired, exhausted, consumed, locked, not_found };

struct PinAttempt {
  PinVerdict verdict = PinVerdict::not_found;
  std::uint32_t attempts_left = 0;  // on this challenge
  std::uint32_t failures = 0;       // on the message
};

struct PinCounters {
  std::uint32_t issued_last_hour = 0;
  std::uint32_t failures = 0;
};

// Letter level: the devices confirmed for a read link.
struct DeviceBinding {
  Hash token_hash{};
  Hash device_hash{};  // hash of the device cookie
  MessageId message_id;
  Timestamp created{};  // kept by the store
};

// ---- delivery queue -------------------------------------------------------------------------------

enum class DeliveryKind { forward, notification, dsn, reply };
enum class QueueState { queued, leased, done, failed, dropped };

// What Store::complete_async did besides ending the lease.
struct Completed {
  bool shredded = false;             // the message had no pending entry left and was shredded
  std::optional<Error> shred_error;  // the shred failed (the completion stands)
};

struct QueueEntry {
  std::string id;        // empty on input: "<message_id>.<n>", n the entry's 1-based place in its batch
  MessageId message_id;  // the message whose sealed content is the payload
  std::string sender;    // envelope sender; empty for <>
  std::string recipient;
  DeliveryKind kind = DeliveryKind::forward;
  std::optional<Timestamp> next_attempt;  // input: nullopt means now

  // Kept by the store.
  QueueState state = QueueState::queued;
  std::uint32_t attempts = 0;  // leases taken so far (a crash during delivery counts)
  std::string lease_owner;
  std::optional<Timestamp> lease_expires;
  std::string last_error;
  Timestamp created{};
  Timestamp updated{};
};

struct QueueFilter {
  std::optional<QueueState> state;
  std::string after_id;      // keyset paging: entries with id > after_id
  std::size_t limit = 100;
};

// ---- portal sessions ------------------------------------------------------------------------------

struct Session {
  Hash id_hash{};  // hash of the session cookie
  Bytes data;      // opaque to the store
  Timestamp expires{};  // absolute expiry (≤ 12 h at AAL2, NIST SP 800-63B §4.2.3)
  Timestamp created{};    // kept by the store
  Timestamp last_seen{};  // kept by the store
  std::optional<Bytes> identity;  // the verified identity (opaque to the store); nullopt: none
};

// What a single-use value is (SqliteStore's auth_once.kind).
enum class OnceKind { code, nonce };
std::string_view to_string(OnceKind k);
// ---- threads and team claims ----------------------------------------------------------------------

// A conversation between a client and a team. Started by a strongly identified client in the
// portal (then bound to that client's identity key) or by a protected message for a team. Every
// message of a thread carries its id in MessageMeta::thread_id.
enum class ThreadState { open, closed };

struct Thread {
  std::string id;               // chosen by the caller, like a message id
  std::string team_id;
  Bytes client_identity;        // keyed hash of the client's identity code; empty: not identified
  std::string client_address;   // where the client's notifications go; empty: none
  std::string language;         // the client's language ("fi", "sv", "en"); empty: instance default
  ThreadState state = ThreadState::open;
  std::optional<Timestamp> expires;  // a thread past this is no longer live
  Timestamp created{};  // kept by the store
  Timestamp updated{};  // kept by the store
};

// The staff member who opened (claimed) a team message: only they read it from then on.
struct Claim {
  MessageId message_id;
  std::string team_id;
  std::string staff_subject;  // the staff IdP's `sub`
  std::string staff_name;     // display name, shown to the other members
  std::string staff_email;    // the staff IdP's e-mail claim at claim time: the only sender whose
                              // mail to the thread's reply address is accepted
  Timestamp claimed{};        // kept by the store
};

// A staff member who has signed in with the staff identity provider (recorded at each sign-in):
// whom a team lead may reassign a claim to. Groups as the provider gave them at the last sign-in.
struct StaffMember {
  std::string subject;  // the staff IdP's `sub`
  std::string name;
  std::string email;
  std::vector<std::string> groups;
  Timestamp seen{};     // kept by the store: the last sign-in
};

// What Store::purge_conversations removed.
struct ConversationPurge {
  std::size_t claims = 0;
  std::size_t threads = 0;
  std::size_t staff_members = 0;
};

struct ClaimOutcome {
  bool claimed = false;  // true: this call claimed it; false: someone (maybe the same) had it already
  Claim holder;          // the claim in force after the call
};

// ---- audit log ------------------------------------------------------------------------------------

// What a caller asks to record; the store adds sequence, time and the chain hashes.
struct AuditEvent {
  std::string event;      // e.g. "message.stored", "unlock.pin"
  MessageId message_id;   // empty: not about one message
  std::string actor;      // "system", "staff:<id>", "client", "admin"
  std::string outcome;    // "ok", "denied", "error" ...
  std::string details = "{}";  // JSON object; the caller guarantees it holds no secret
};
using AuditEvents = std::vector<AuditEvent>;

struct AuditRecord {
  std::uint64_t seq = 0;  // 1, 2, 3 ... without gaps
  Timestamp at{};
  std::string event;
  MessageId message_id;
  std::string actor;
  std::string outcome;
  std::string details;
  Hash prev_hash{};  // hash of record seq-1 (zeros before the first, the checkpoint after a purge)
  Hash hash{};       // H(prev_hash || canonical encoding), see audit_chain.hpp
};
using AuditVisitor = std::function<bool(const AuditRecord&)>;

// Where the chain starts after a retention purge: the last purged record's sequence and hash.
struct AuditCheckpoint {
  std::uint64_t seq = 0;
  Hash hash{};
  Timestamp purged_at{};
};

struct AuditHead {
  std::uint64_t seq = 0;  // 0: empty chain
  Hash hash{};
};

struct AuditVerification {
  bool ok = true;
  std::uint64_t records = 0;                 // records checked
  std::optional<std::uint64_t> first_bad_seq;
  std::string problem;                       // one line, empty when ok
  AuditHead head;                            // the last good record
};

// ---- commit ---------------------------------------------------------------------------------------

// One message's part of a commit. If begin_message() created the message it must be `receiving`;
// `meta`, when present, replaces its descriptive fields (the classification decided after DATA).
// Without begin_message() `meta` is required and the message is created directly as stored.
struct MessageCommit {
  MessageId id;
  std::optional<MessageMeta> meta;
  std::vector<Chunk> chunks;  // the remaining pieces, appended after those already streamed
  std::uint64_t size = 0;     // bytes of the original message
};

// Everything that becomes durable together (one SAVEPOINT in a group commit): the messages, their
// queue entries and read tokens, and the audit records. All of it or none of it.
struct CommitBatch {
  std::vector<MessageCommit> messages;
  std::vector<QueueEntry> queue;
  std::vector<ReadToken> tokens;
  std::vector<Thread> threads;  // created before the messages that name them
  AuditEvents audit;
};

// ---- statistics -----------------------------------------------------------------------------------

struct StoreStats {
  std::uint64_t batches = 0;          // write requests applied (each in its own savepoint)
  std::uint64_t failed_batches = 0;   // write requests that returned an error
  std::uint64_t transactions = 0;     // COMMITs that succeeded: one fsync of the log each
  std::uint64_t failed_transactions = 0;
  std::uint64_t largest_group = 0;    // most write requests in one transaction
  std::uint64_t removed_at_open = 0;  // `receiving` messages left by a crash, deleted at open
  std::uint64_t waiting = 0;          // write requests queued and not yet taken by the writer
};

// ---- text forms (stable: they are what the database holds) ----------------------------------------

std::string_view to_string(MessageKind v);
std::string_view to_string(MessageState v);
std::string_view to_string(ProtectionLevel v);
std::string_view to_string(UnlockKind v);
std::string_view to_string(ShredReason v);
std::string_view to_string(TokenPurpose v);
std::string_view to_string(DeliveryKind v);
std::string_view to_string(QueueState v);
std::string_view to_string(ThreadState v);
std::string_view to_string(PinIssue v);
std::string_view to_string(PinVerdict v);

Result<MessageKind> parse_message_kind(std::string_view text);
Result<MessageState> parse_message_state(std::string_view text);
Result<ProtectionLevel> parse_protection_level(std::string_view text);
Result<UnlockKind> parse_unlock_kind(std::string_view text);
Result<TokenPurpose> parse_token_purpose(std::string_view text);
Result<DeliveryKind> parse_delivery_kind(std::string_view text);
Result<QueueState> parse_queue_state(std::string_view text);
Result<ThreadState> parse_thread_state(std::string_view text);

}  // namespace sinetti::store
