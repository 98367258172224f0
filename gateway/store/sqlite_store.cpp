// SqliteStore: the Store on one SQLite file (see sqlite_store.hpp). Every write runs on the
// GroupCommitWriter's thread against the one writing connection; reads borrow a connection from a
// small pool. SQL text lives in sqlite/sql.hpp.
#include "gateway/store/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <utility>

#include "gateway/store/audit_chain.hpp"
#include "gateway/store/group_commit.hpp"
#include "gateway/store/sqlite/connection.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/sql.hpp"
#include "sinetti/blocking.hpp"

namespace sinetti::store {

using sqlite::Connection;
using sqlite::Query;
namespace sql = sqlite::sql;

namespace {

constexpr std::size_t max_identifier_length = 128;  // queue entry ids, PIN challenge ids, owners
constexpr auto one_hour = std::chrono::hours(1);

bool valid_identifier(std::string_view id) {
  return !id.empty() && id.size() <= max_identifier_length &&
         std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

Error bad_message_id() { return make_error("store: a message id must be 1-64 of [A-Za-z0-9._-]"); }

std::string reason_details(ShredReason reason) {
  return "{\"reason\":\"" + std::string(to_string(reason)) + "\"}";
}

MessageState state_after(ShredReason reason) {
  switch (reason) {
    case ShredReason::expired: return MessageState::expired;
    case ShredReason::revoked: return MessageState::revoked;
    default: return MessageState::shredded;
  }
}

std::string shred_event(MessageState state) { return "message." + std::string(to_string(state)); }

bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

std::int64_t to_int64(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, static_cast<std::uint64_t>(INT64_MAX)));
}

// ---- the read connections -------------------------------------------------------------------------

class ReaderPool;

// The read connection a Store::ReadScope holds for its thread, and the pool it came from.
struct PinnedReader {
  const ReaderPool* pool = nullptr;
  Connection* connection = nullptr;
};
thread_local PinnedReader pinned_reader;

class ReaderPool {
 public:
  // A connection for one read: from the pool (given back at the end), or the one this thread's
  // read scope holds (pool_ null: the scope gives it back).
  class Lease {
   public:
    Lease(ReaderPool* pool, Connection* c) : pool_(pool), c_(c) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), c_(std::exchange(o.c_, nullptr)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_ != nullptr && pool_ != nullptr) pool_->release(c_);
    }
    Connection& operator*() const { return *c_; }
    Connection* operator->() const { return c_; }

   private:
    ReaderPool* pool_;
    Connection* c_;
  };

  void add(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mutex_);
    free_.push_back(c.get());
    all_.push_back(std::move(c));
  }

  Lease acquire() {
    if (pinned_reader.pool == this) return Lease(nullptr, pinned_reader.connection);
    std::unique_lock lock(mutex_);
    if (free_.empty()) {
      lock.unlock();
      const Waiting waiting;  // every read connection is in use: let another pool thread run meanwhile
      lock.lock();
      available_.wait(lock, [this] { return !free_.empty(); });
    }
    Connection* c = free_.back();
    free_.pop_back();
    return Lease(this, c);
  }

 private:
  void release(Connection* c) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(c);
    }
    available_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> free_;
};

// A read snapshot over several statements (inside a read scope, the scope's).
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& db) : db_(db) {
    if (db_.in_transaction()) return;  // a read scope's: it ends it
    auto q = db_.query(sql::begin_read);
    began_ = q && q->run().ok();
  }
  ~ReadTransaction() {
    if (!began_) return;
    if (auto q = db_.query(sql::end_read)) (void)q->run();
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Connection& db_;
  bool began_ = false;  // this object started the transaction, so it ends it
};

// Store::ReadScope: pins one read connection to this thread and holds one read transaction on it.
class SqliteReadScope final : public Store::ReadScope {
 public:
  SqliteReadScope(ReaderPool& pool, ReaderPool::Lease lease)
      : lease_(std::move(lease)), snapshot_(*lease_) {
    pinned_reader = {&pool, &*lease_};
  }
  ~SqliteReadScope() override { pinned_reader = {}; }  // then the snapshot ends and the lease returns
  SqliteReadScope(const SqliteReadScope&) = delete;
  SqliteReadScope& operator=(const SqliteReadScope&) = delete;

 private:
  ReaderPool::Lease lease_;
  ReadTransaction snapshot_;
};

// ---- row readers ----------------------------------------------------------------------------------

Result<MessageMeta> message_from_row(const Query& q) {
  MessageMeta m;
  m.id = q.text(0);
  auto kind = parse_message_kind(q.text(1));
  if (!kind) return kind.error();
  m.kind = *kind;
  auto state = parse_message_state(q.text(2));
  if (!state) return state.error();
  m.state = *state;
  auto protection = parse_protection_level(q.text(3));
  if (!protection) return protection.error();
  m.protection = *protection;
  auto unlock = parse_unlock_kind(q.text(4));
  if (!unlock) return unlock.error();
  m.unlock.kind = *unlock;
  m.unlock.sealed_phone = q.blob(5);
  m.unlock.identity_hash = q.blob(6);
  m.sender = q.text(7);
  m.team_id = q.text(8);
  m.thread_id = q.text(9);
  m.language = q.text(10);
  m.size = static_cast<std::uint64_t>(q.int64(11));
  m.chunk_count = static_cast<std::uint32_t>(q.int64(12));
  m.created = q.time(13);
  m.stored = q.optional_time(14);
  m.expires = q.optional_time(15);
  if (!q.is_null(16)) m.wrapped_key = q.blob(16);
  m.kek_id = static_cast<std::uint32_t>(q.int64(17));
  m.pin_failures = static_cast<std::uint32_t>(q.int64(18));
  m.shredded = q.optional_time(19);
  m.shred_reason = q.text(20);
  return m;
}

Result<Thread> thread_from_row(const Query& q) {
  Thread t;
  t.id = q.text(0);
  t.team_id = q.text(1);
  t.client_identity = q.blob(2);
  t.client_address = q.text(3);
  t.language = q.text(4);
  auto state = parse_thread_state(q.text(5));
  if (!state) return state.error();
  t.state = *state;
  t.expires = q.optional_time(6);
  t.created = q.time(7);
  t.updated = q.time(8);
  return t;
}

Claim claim_from_row(const Query& q) {
  Claim c;
  c.message_id = q.text(0);
  c.team_id = q.text(1);
  c.staff_subject = q.text(2);
  c.staff_name = q.text(3);
  c.staff_email = q.text(4);
  c.claimed = q.time(5);
  return c;
}

StaffMember staff_member_from_row(const Query& q) {
  StaffMember m;
  m.subject = q.text(0);
  m.name = q.text(1);
  m.email = q.text(2);
  const std::string groups = q.text(3);
  for (std::size_t pos = 0; pos < groups.size();) {
    const auto nl = groups.find('\n', pos);
    const auto end = nl == std::string::npos ? groups.size() : nl;
    if (end > pos) m.groups.push_back(groups.substr(pos, end - pos));
    pos = end + 1;
  }
  m.seen = q.time(4);
  return m;
}

std::string lower_ascii(std::string s) {
  for (auto& ch : s) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return s;
}

Result<QueueEntry> queue_entry_from_row(const Query& q) {
  QueueEntry e;
  e.id = q.text(0);
  e.message_id = q.text(1);
  e.sender = q.text(2);
  e.recipient = q.text(3);
  auto kind = parse_delivery_kind(q.text(4));
  if (!kind) return kind.error();
  e.kind = *kind;
  auto state = parse_queue_state(q.text(5));
  if (!state) return state.error();
  e.state = *state;
  e.attempts = static_cast<std::uint32_t>(q.int64(6));
  e.next_attempt = q.time(7);
  e.lease_owner = q.text(8);
  e.lease_expires = q.optional_time(9);
  e.last_error = q.text(10);
  e.created = q.time(11);
  e.updated = q.time(12);
  return e;
}

Result<ReadToken> token_from_row(const Query& q) {
  ReadToken t;
  auto h = q.hash(0);
  if (!h) return h.error();
  t.token_hash = *h;
  t.message_id = q.text(1);
  t.recipient = q.text(2);
  t.recipient_index = static_cast<std::uint32_t>(q.int64(3));
  auto purpose = parse_token_purpose(q.text(4));
  if (!purpose) return purpose.error();
  t.purpose = *purpose;
  t.created = q.time(5);
  t.expires = q.time(6);
  t.revoked = q.optional_time(7);
  return t;
}

Result<PinChallenge> pin_from_row(const Query& q) {
  PinChallenge c;
  c.id = q.text(0);
  c.message_id = q.text(1);
  auto h = q.hash(2);
  if (!h) return h.error();
  c.token_hash = *h;
  c.mac = q.blob(3);
  c.created = q.time(4);
  c.expires = q.time(5);
  c.attempts = static_cast<std::uint32_t>(q.int64(6));
  c.consumed = q.optional_time(7);
  return c;
}

Result<AuditRecord> audit_from_row(const Query& q) {
  AuditRecord r;
  r.seq = static_cast<std::uint64_t>(q.int64(0));
  r.at = q.time(1);
  r.event = q.text(2);
  r.message_id = q.text(3);
  r.actor = q.text(4);
  r.outcome = q.text(5);
  r.details = q.text(6);
  auto prev = q.hash(7);
  if (!prev) return prev.error();
  r.prev_hash = *prev;
  auto hash = q.hash(8);
  if (!hash) return hash.error();
  r.hash = *hash;
  return r;
}

Result<std::optional<AuditCheckpoint>> read_checkpoint(Connection& db) {
  auto q = db.query(sql::select_checkpoint);
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<AuditCheckpoint>();
  auto h = q->hash(1);
  if (!h) return h.error();
  return std::optional<AuditCheckpoint>(AuditCheckpoint{static_cast<std::uint64_t>(q->int64(0)), *h, q->time(2)});
}

// The newest record, or the checkpoint, or the empty chain.
Result<AuditHead> read_head(Connection& db) {
  {
    auto q = db.query(sql::audit_last);
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    if (*row) {
      auto h = q->hash(1);
      if (!h) return h.error();
      return AuditHead{static_cast<std::uint64_t>(q->int64(0)), *h};
    }
  }
  auto checkpoint = read_checkpoint(db);
  if (!checkpoint) return checkpoint.error();
  if (*checkpoint) return AuditHead{(*checkpoint)->seq, (*checkpoint)->hash};
  return AuditHead{};
}

Result<std::optional<MessageState>> read_state(Connection& db, const MessageId& id) {
  auto q = db.query(sql::message_state);
  if (!q) return q.error();
  q->bind(1, id);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<MessageState>();
  auto state = parse_message_state(q->text(0));
  if (!state) return state.error();
  return std::optional<MessageState>(*state);
}

Status validate_meta(const MessageMeta& m) {
  if (!valid_message_id(m.id)) return bad_message_id();
  if (m.unlock.kind == UnlockKind::phone && m.unlock.sealed_phone.empty()) {
    return make_error("store: message " + m.id + ": phone unlock without a sealed phone number");
  }
  if (m.unlock.kind == UnlockKind::identity && m.unlock.identity_hash.empty()) {
    return make_error("store: message " + m.id + ": identity unlock without an identity hash");
  }
  return ok_status();
}

// Creates (and tightens to 0600) the database file and any -wal/-shm beside it before SQLite opens
// them; SQLite creates -wal and -shm with the database file's permissions.
Status prepare_files(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("store: cannot create " + path.string() + ": " + std::strerror(errno));
  const bool ok = ::fchmod(fd, 0600) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return make_error("store: cannot restrict " + path.string() + " to 0600: " + std::strerror(saved));
  for (const char* suffix : {"-wal", "-shm"}) {
    const auto side = path.string() + suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT) {
      return make_error("store: cannot restrict " + side + " to 0600: " + std::strerror(errno));
    }
  }
  return ok_status();
}

}  // namespace

// How a write must be committed: `disk`, on stable storage before the caller hears of it (everything
// but sessions); `session`, without waiting for the disk when nothing durable shares its group.
enum class Durability { disk, session };

// ---- transaction verbs for the group commit writer -------------------------------------------------

class SqliteTransaction final : public TransactionControl {
 public:
  SqliteTransaction(Connection& db, std::chrono::milliseconds busy_timeout, std::atomic<bool>& checkpoint_wanted,
                    const Clock& clock, std::chrono::milliseconds checkpoint_interval)
      : db_(db),
        busy_timeout_(busy_timeout),
        checkpoint_wanted_(checkpoint_wanted),
        clock_(clock),
        checkpoint_interval_(checkpoint_interval) {}

  Status begin() override { return db_.run_cached("BEGIN IMMEDIATE", "starting a write transaction"); }
  Status savepoint() override { return db_.run_cached("SAVEPOINT batch", "starting a write"); }
  Status release() override { return db_.run_cached("RELEASE batch", "finishing a write"); }
  Status rollback_to_savepoint() override {
    return db_.exec("ROLLBACK TO batch; RELEASE batch", "rolling back a failed write");
  }
  Status commit() override { return db_.run_cached("COMMIT", "committing"); }
  void rollback() override {
    if (db_.in_transaction()) (void)db_.exec("ROLLBACK", "rolling back");
  }
  bool in_transaction() override { return db_.in_transaction(); }

  // synchronous=FULL (verified at open) for every transaction that holds anything durable; NORMAL
  // only for a group of session writes alone. In WAL mode a NORMAL commit is appended to the log
  // without an fsync: the next FULL commit's fsync of the same log carries it to the disk, and no
  // FULL commit can be lost because of one. If NORMAL cannot be set the group stays FULL; if FULL
  // cannot be set back the group fails rather than commit durable writes without an fsync.
  Status set_durable(bool durable) override {
    if (durable == durable_) return ok_status();
    if (!durable) {
      if (db_.exec("PRAGMA synchronous=NORMAL", "committing without waiting for the disk")) durable_ = false;
      return ok_status();
    }
    if (auto s = db_.exec("PRAGMA synchronous=FULL", "committing durably"); !s) return s.error();
    durable_ = true;
    return ok_status();
  }

  // After a shred, fold the log into the database and truncate it, so old copies of the wrapped
  // key do not linger in the WAL: at most once per checkpoint_interval, and never later than that
  // after the shred. The first shred after a quiet interval is checkpointed before its commit is
  // reported (`message revoke` returns with the key gone from every file); under a steady stream
  // of deliveries, where every commit follows a shred, the writer checkpoints once per interval,
  // and when it falls idle sooner the checkpoint waits for the interval's end (idle_work).
  // A checkpoint per commit (copy the pages, fsync the database, truncate the log, grow it again)
  // would cost more than the commits. A checkpoint a reader blocks by holding an old snapshot is
  // skipped, never waited for, and tried again an interval later.
  void after_commit(bool /*more_waiting*/) override {
    if (checkpoint_wanted_.load() && !checkpoint_in()) checkpoint();
  }

  std::optional<std::chrono::milliseconds> idle_work_in() override {
    if (!checkpoint_wanted_.load()) return std::nullopt;
    return checkpoint_in().value_or(std::chrono::milliseconds::zero());
  }

  void idle_work() override {
    if (checkpoint_wanted_.load()) checkpoint();
  }

 private:
  // How long until the next checkpoint may run; none when it may run now.
  std::optional<std::chrono::milliseconds> checkpoint_in() const {
    if (!last_checkpoint_) return std::nullopt;
    const auto since = clock_.steady_now() - *last_checkpoint_;
    if (since >= checkpoint_interval_) return std::nullopt;
    return std::chrono::ceil<std::chrono::milliseconds>(checkpoint_interval_ - since);
  }

  void checkpoint() {
    last_checkpoint_ = clock_.steady_now();
    sqlite3_busy_timeout(db_.raw(), 0);
    const int rc = sqlite3_wal_checkpoint_v2(db_.raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_busy_timeout(db_.raw(), static_cast<int>(busy_timeout_.count()));
    if (rc == SQLITE_OK) checkpoint_wanted_.store(false);
  }

  Connection& db_;
  bool durable_ = true;  // the connection's synchronous setting is FULL
  std::chrono::milliseconds busy_timeout_;
  std::atomic<bool>& checkpoint_wanted_;
  const Clock& clock_;
  std::chrono::milliseconds checkpoint_interval_;
  std::optional<std::chrono::steady_clock::time_point> last_checkpoint_;
};

// ---- Impl -----------------------------------------------------------------------------------------

struct SqliteStore::Impl {
  Impl(const SqliteOptions& o, const Clock& c, HashFunction h) : options(o), clock(c), hash(std::move(h)) {}
  ~Impl() {
    if (writer_thread) writer_thread->stop();
    writer_thread.reset();
    tx.reset();
    writer.reset();
    if (lock_fd >= 0) ::close(lock_fd);
  }

  SqliteOptions options;
  const Clock& clock;
  HashFunction hash;
  int lock_fd = -1;
  std::unique_ptr<Connection> writer;
  std::atomic<bool> checkpoint_wanted{false};
  std::unique_ptr<SqliteTransaction> tx;
  std::unique_ptr<GroupCommitWriter> writer_thread;
  ReaderPool readers;
  std::uint64_t removed_at_open = 0;

  Timestamp now() const { return to_timestamp(clock.now()); }

  template <typename T>
  void submit(std::function<Result<T>()> fn, Completion<T> done, bool durable = true) {
    writer_thread->submit(std::make_unique<FunctionJob<T>>(std::move(fn), std::move(done), durable));
  }

  // A write from a worker thread: submitted to the writer, waited for. `Durability::session`: for
  // portal sessions only (store.hpp says which writes).
  template <typename T>
  Result<T> write(std::function<Result<T>()> fn, Durability durability = Durability::disk) {
    if (writer_thread->on_writer_thread()) {
      return make_error("store: blocking call from a completion handler (it would deadlock)");
    }
    std::promise<Result<T>> promise;
    auto future = promise.get_future();
    submit<T>(std::move(fn), [&promise](Result<T> r) { promise.set_value(std::move(r)); },
              durability == Durability::disk);
    const Waiting waiting;  // the commit's fsync
    return future.get();
  }

  // ---- on the writer thread ----

  Status append_audit_on_writer(const AuditEvents& events) {
    if (events.empty()) return ok_status();
    auto head = read_head(*writer);
    if (!head) return head.error();
    AuditHead h = *head;
    const Timestamp at = now();
    for (const auto& e : events) {
      if (e.event.empty()) return make_error("store: an audit event needs a name");
      AuditRecord r;
      r.seq = h.seq + 1;
      r.at = at;
      r.event = e.event;
      r.message_id = e.message_id;
      r.actor = e.actor;
      r.outcome = e.outcome;
      r.details = e.details.empty() ? "{}" : e.details;
      r.prev_hash = h.hash;
      r.hash = audit_chain::record_hash(hash, r.prev_hash, r);
      auto q = writer->query(sql::insert_audit);
      if (!q) return q.error();
      q->bind(1, to_int64(r.seq)).bind(2, r.at).bind(3, r.event).bind_or_null(4, r.message_id).bind(5, r.actor);
      q->bind(6, r.outcome).bind(7, r.details).bind(8, std::span<const std::uint8_t>(r.prev_hash));
      q->bind(9, std::span<const std::uint8_t>(r.hash));
      if (auto run = q->run(); !run) return run.error();
      h = AuditHead{r.seq, r.hash};
    }
    return ok_status();
  }

  Status insert_message(const MessageMeta& m, Timestamp created) {
    auto q = writer->query(sql::insert_message);
    if (!q) return q.error();
    q->bind(1, m.id).bind(2, to_string(m.kind)).bind(3, to_string(MessageState::receiving));
    q->bind(4, to_string(m.protection)).bind(5, to_string(m.unlock.kind));
    bind_unlock(*q, 6, m.unlock);
    q->bind(8, m.sender).bind_or_null(9, m.team_id).bind_or_null(10, m.thread_id).bind_or_null(11, m.language);
    q->bind(12, to_int64(m.size)).bind(13, created).bind_null(14).bind(15, m.expires).bind(16, m.wrapped_key);
    q->bind(17, std::int64_t{m.kek_id});
    if (auto r = q->run(); !r) return r.error();
    return write_recipients(m);
  }

  static void bind_unlock(Query& q, int first, const UnlockPolicy& u) {
    if (u.sealed_phone.empty()) q.bind_null(first); else q.bind(first, std::span<const std::uint8_t>(u.sealed_phone));
    if (u.identity_hash.empty()) q.bind_null(first + 1);
    else q.bind(first + 1, std::span<const std::uint8_t>(u.identity_hash));
  }

  Status write_recipients(const MessageMeta& m) {
    for (std::size_t i = 0; i < m.recipients.size(); ++i) {
      auto q = writer->query(sql::insert_recipient);
      if (!q) return q.error();
      q->bind(1, m.id).bind(2, static_cast<std::int64_t>(i)).bind(3, m.recipients[i]);
      if (auto r = q->run(); !r) return r.error();
    }
    return ok_status();
  }

  Status update_meta(const MessageMeta& m) {
    auto q = writer->query(sql::update_message_meta);
    if (!q) return q.error();
    q->bind(1, m.id).bind(2, to_string(m.kind)).bind(3, to_string(m.protection)).bind(4, to_string(m.unlock.kind));
    bind_unlock(*q, 5, m.unlock);
    q->bind(7, m.sender).bind_or_null(8, m.team_id).bind_or_null(9, m.thread_id).bind_or_null(10, m.language);
    q->bind(11, m.expires).bind(12, m.wrapped_key).bind(13, std::int64_t{m.kek_id});
    if (auto r = q->run(); !r) return r.error();
    auto del = writer->query(sql::delete_recipients);
    if (!del) return del.error();
    del->bind(1, m.id);
    if (auto r = del->run(); !r) return r.error();
    return write_recipients(m);
  }

  Status append_on_writer(const MessageId& id, const std::vector<Chunk>& pieces) {
    if (pieces.empty()) return ok_status();
    std::int64_t seq = 0;
    {
      auto q = writer->query(sql::next_chunk_seq);
      if (!q) return q.error();
      q->bind(1, id);
      auto row = q->step();
      if (!row) return row.error();
      seq = q->int64(0);
    }
    for (const auto& piece : pieces) {
      auto q = writer->query(sql::insert_chunk);
      if (!q) return q.error();
      q->bind(1, id).bind(2, seq++).bind(3, std::span<const std::uint8_t>(piece));
      if (auto r = q->run(); !r) return r.error();
    }
    return ok_status();
  }

  Status require_receiving(const MessageId& id) {
    auto state = read_state(*writer, id);
    if (!state) return state.error();
    if (!*state) return make_error("store: no message " + id);
    if (**state != MessageState::receiving) {
      return make_error("store: message " + id + " is " + std::string(to_string(**state)) + ", not receiving");
    }
    return ok_status();
  }

  Status commit_message(const MessageCommit& mc, Timestamp at) {
    auto state = read_state(*writer, mc.id);
    if (!state) return state.error();
    if (!*state) {
      if (!mc.meta) return make_error("store: no message " + mc.id + " (begin_message or meta is needed)");
      if (auto s = insert_message(*mc.meta, at); !s) return s;
    } else if (**state != MessageState::receiving) {
      return make_error("store: message " + mc.id + " is already " + std::string(to_string(**state)));
    } else if (mc.meta) {
      if (auto s = update_meta(*mc.meta); !s) return s;
    }
    if (auto s = append_on_writer(mc.id, mc.chunks); !s) return s;
    auto q = writer->query(sql::mark_stored);
    if (!q) return q.error();
    q->bind(1, mc.id).bind(2, at).bind(3, to_int64(mc.size));
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed != 1) return make_error("store: message " + mc.id + " could not be marked stored");
    return ok_status();
  }

  Status insert_tokens(const std::vector<ReadToken>& tokens, Timestamp at) {
    for (const auto& t : tokens) {
      auto q = writer->query(sql::insert_token);
      if (!q) return q.error();
      q->bind(1, std::span<const std::uint8_t>(t.token_hash)).bind(2, t.message_id).bind(3, t.recipient);
      q->bind(4, std::int64_t{t.recipient_index}).bind(5, to_string(t.purpose)).bind(6, at).bind(7, t.expires);
      if (auto r = q->run(); !r) return r.error();
    }
    return ok_status();
  }

  Status insert_threads(const std::vector<Thread>& threads, Timestamp at) {
    for (const auto& t : threads) {
      if (!valid_message_id(t.id)) return make_error("store: invalid thread id");
      if (t.team_id.empty()) return make_error("store: thread " + t.id + " needs a team");
      auto q = writer->query(sql::insert_thread);
      if (!q) return q.error();
      q->bind(1, t.id).bind(2, t.team_id);
      if (t.client_identity.empty()) q->bind_null(3); else q->bind(3, std::span<const std::uint8_t>(t.client_identity));
      q->bind(4, t.client_address).bind_or_null(5, t.language).bind(6, to_string(t.state)).bind(7, t.expires).bind(8, at);
      if (auto r = q->run(); !r) return r.error();
    }
    return ok_status();
  }

  Result<std::optional<Claim>> claim_on(Connection& db, const MessageId& id) {
    auto q = db.query(sql::select_claim);
    if (!q) return q.error();
    q->bind(1, id);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return std::optional<Claim>();
    return std::optional<Claim>(claim_from_row(*q));
  }

  Status commit_on_writer(const CommitBatch& batch) {
    const Timestamp at = now();
    if (auto s = insert_threads(batch.threads, at); !s) return s;
    for (const auto& mc : batch.messages) {
      if (auto s = commit_message(mc, at); !s) return s;
    }
    for (std::size_t i = 0; i < batch.queue.size(); ++i) {
      const auto& e = batch.queue[i];
      const std::string id = e.id.empty() ? e.message_id + "." + std::to_string(i + 1) : e.id;
      auto q = writer->query(sql::insert_queue_entry);
      if (!q) return q.error();
      q->bind(1, id).bind(2, e.message_id).bind(3, e.sender).bind(4, e.recipient).bind(5, to_string(e.kind));
      q->bind(6, e.next_attempt.value_or(at)).bind(7, at);
      if (auto r = q->run(); !r) return r.error();
    }
    if (auto s = insert_tokens(batch.tokens, at); !s) return s;
    return append_audit_on_writer(batch.audit);
  }

  // Runs `statement`, which deletes content chunks, bound to `id`, with secure_delete=FAST. The
  // chunks hold only ciphertext, under a data key a shred has just destroyed or an aborted message
  // never stored, so their freed pages need no overwriting; overwriting them (ON) would first copy
  // each page's old contents into the savepoint's statement journal, which the writer keeps in
  // memory (temp_store=MEMORY): 100 MB for a 100 MB message. FAST still clears the deleted rows
  // out of the table's own pages. The writer is back at ON when this returns.
  Status delete_content(const char* statement, const MessageId& id) {
    if (auto s = writer->run_cached("PRAGMA secure_delete=FAST", "deleting content"); !s) return s.error();
    Status deleted = [&]() -> Status {
      auto q = writer->query(statement);
      if (!q) return q.error();
      q->bind(1, id);
      if (auto r = q->run(); !r) return r.error();
      return ok_status();
    }();
    Status restored = writer->run_cached("PRAGMA secure_delete=ON", "deleting content");
    if (!deleted) return deleted;
    return restored;
  }

  Result<bool> shred_on_writer(const MessageId& id, ShredReason reason, const std::string& actor) {
    auto state = read_state(*writer, id);
    if (!state) return state.error();
    if (!*state) return make_error("store: no message " + id);
    if (**state == MessageState::receiving) return make_error("store: message " + id + " is still being received");
    if (is_shredded(**state)) return false;
    const Timestamp at = now();
    const MessageState next = state_after(reason);
    {
      auto q = writer->query(sql::shred_message);
      if (!q) return q.error();
      q->bind(1, id).bind(2, to_string(next)).bind(3, at).bind(4, to_string(reason));
      if (auto r = q->run(); !r) return r.error();
    }
    // The data key went with the row above, overwritten in place.
    if (auto s = delete_content(sql::delete_chunks, id); !s) return s.error();
    for (const char* statement : {sql::delete_message_tokens, sql::delete_message_pins, sql::delete_message_devices}) {
      auto q = writer->query(statement);
      if (!q) return q.error();
      q->bind(1, id);
      if (auto r = q->run(); !r) return r.error();
    }
    {
      auto q = writer->query(sql::drop_message_queue);
      if (!q) return q.error();
      const std::string why = "message " + std::string(to_string(next));
      q->bind(1, id).bind(2, why).bind(3, at);
      if (auto r = q->run(); !r) return r.error();
    }
    if (auto s = append_audit_on_writer({AuditEvent{shred_event(next), id, actor, "ok", reason_details(reason)}}); !s) {
      return s.error();
    }
    checkpoint_wanted.store(true);
    return true;
  }

  // A queue update that must find the entry leased by `owner`.
  Status end_lease(const char* statement, const std::string& id, const std::string& owner,
                   const std::function<void(Query&)>& bind_rest, const AuditEvents& audit) {
    auto q = writer->query(statement);
    if (!q) return q.error();
    q->bind(1, id).bind(2, owner);
    bind_rest(*q);
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed != 1) return make_error("store: queue entry " + id + " is not leased by " + owner);
    return append_audit_on_writer(audit);
  }

  // Claims up to `limit` due entries for `owner` (Store::lease_due). On the writer thread.
  Result<std::vector<QueueEntry>> lease_on_writer(const std::string& owner, Timestamp now, std::size_t limit,
                                                  std::chrono::milliseconds lease_for) {
    auto& db = *writer;
    // The first `limit` of each kind, then the first `limit` of both by (due, id).
    std::vector<std::pair<std::int64_t, std::string>> due;
    for (const char* statement : {sql::select_due_queued, sql::select_due_expired}) {
      auto q = db.query(statement);
      if (!q) return q.error();
      q->bind(1, now).bind(2, to_int64(limit));
      for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) break;
        due.emplace_back(q->int64(1), q->text(0));
      }
    }
    std::sort(due.begin(), due.end());
    if (due.size() > limit) due.resize(limit);
    std::vector<QueueEntry> leased;
    for (const auto& [at, id] : due) {
      auto q = db.query(sql::lease_entry);
      if (!q) return q.error();
      q->bind(1, id).bind(2, owner).bind(3, now + lease_for).bind(4, now);
      if (auto r = q->run(); !r) return r.error();
      auto e = queue_entry(db, id);
      if (!e) return e.error();
      if (*e) leased.push_back(std::move(**e));
    }
    return leased;
  }

  // ---- reads ----

  Result<std::optional<QueueEntry>> queue_entry(Connection& db, const std::string& id) {
    auto q = db.query(sql::select_queue_entry);
    if (!q) return q.error();
    q->bind(1, id);
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) return std::optional<QueueEntry>();
    auto e = queue_entry_from_row(*q);
    if (!e) return e.error();
    return std::optional<QueueEntry>(std::move(*e));
  }
};

// ---- open / close ---------------------------------------------------------------------------------

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options, const Clock& clock,
                                                       HashFunction hash) {
  if (options.path.empty()) return make_error("store: no database path");
  if (options.read_connections < 1 || options.read_connections > 64) {
    return make_error("store: read_connections must be 1-64");
  }
  if (options.max_chunk_size < 1) return make_error("store: max_chunk_size must be positive");
  if (!hash) return make_error("store: no hash function for the audit chain");

  auto impl = std::make_unique<Impl>(options, clock, std::move(hash));
  if (auto s = prepare_files(options.path); !s) return s.error();

  // The holder of the lock file owns the `receiving` messages: only it may remove crash leftovers.
  const auto lock_path = options.path.string() + ".lock";
  impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (impl->lock_fd < 0) return make_error("store: cannot create " + lock_path + ": " + std::strerror(errno));
  const bool owner = ::flock(impl->lock_fd, LOCK_EX | LOCK_NB) == 0;

  auto writer = Connection::open(options.path, Connection::Role::writer, options.busy_timeout);
  if (!writer) return writer.error();
  impl->writer = std::move(*writer);
  if (options.max_database_bytes > 0) {
    auto q = impl->writer->query("PRAGMA page_size");
    if (!q) return q.error();
    auto row = q->step();
    if (!row) return row.error();
    const auto page_size = static_cast<std::uint64_t>(std::max<std::int64_t>(q->int64(0), 512));
    const std::string pragma =
        "PRAGMA max_page_count=" + std::to_string(std::max<std::uint64_t>(1, options.max_database_bytes / page_size));
    if (auto s = impl->writer->exec(pragma.c_str(), "limiting the database size"); !s) return s.error();
  }
  auto version = sqlite::migrate(*impl->writer, sqlite::migrations(), impl->now());
  if (!version) return version.error();
  if (owner) {
    auto q = impl->writer->query(sql::delete_all_receiving);
    if (!q) return q.error();
    auto removed = q->run();
    if (!removed) return removed.error();
    impl->removed_at_open = static_cast<std::uint64_t>(*removed);
  }
  for (std::size_t i = 0; i < options.read_connections; ++i) {
    auto reader = Connection::open(options.path, Connection::Role::reader, options.busy_timeout);
    if (!reader) return reader.error();
    impl->readers.add(std::move(*reader));
  }
  impl->tx = std::make_unique<SqliteTransaction>(*impl->writer, options.busy_timeout, impl->checkpoint_wanted, clock,
                                                 options.checkpoint_interval);
  impl->writer_thread = std::make_unique<GroupCommitWriter>(
      *impl->tx, GroupCommitOptions{options.group_commit, options.max_group});
  impl->writer_thread->start();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

StoreStats SqliteStore::stats() const {
  auto s = impl_->writer_thread->stats();
  s.removed_at_open = impl_->removed_at_open;
  return s;
}

bool SqliteStore::on_writer_thread() const { return impl_->writer_thread->on_writer_thread(); }

// ---- storing a message ----------------------------------------------------------------------------

namespace {

Status check_pieces(const std::vector<Chunk>& pieces, std::size_t limit) {
  for (const auto& p : pieces) {
    if (p.size() > limit) {
      return make_error("store: a content piece of " + std::to_string(p.size()) + " bytes exceeds the " +
                        std::to_string(limit) + "-byte limit");
    }
  }
  return ok_status();
}

}  // namespace

void SqliteStore::begin_message_async(MessageMeta meta, Completion<std::monostate> done) {
  if (auto s = validate_meta(meta); !s) return done(s.error());
  impl_->submit<std::monostate>(
      [impl = impl_.get(), meta = std::move(meta)]() -> Status {
        auto state = read_state(*impl->writer, meta.id);
        if (!state) return state.error();
        if (*state) return make_error("store: message " + meta.id + " already exists");
        return impl->insert_message(meta, impl->now());
      },
      std::move(done));
}

void SqliteStore::append_chunks_async(MessageId id, std::vector<Chunk> pieces, Completion<std::monostate> done) {
  if (!valid_message_id(id)) return done(bad_message_id());
  if (auto s = check_pieces(pieces, impl_->options.max_chunk_size); !s) return done(s.error());
  impl_->submit<std::monostate>(
      [impl = impl_.get(), id = std::move(id), pieces = std::move(pieces)]() -> Status {
        if (auto s = impl->require_receiving(id); !s) return s;
        return impl->append_on_writer(id, pieces);
      },
      std::move(done));
}

void SqliteStore::commit_async(CommitBatch batch, Completion<std::monostate> done) {
  for (const auto& mc : batch.messages) {
    if (!valid_message_id(mc.id)) return done(bad_message_id());
    if (mc.meta) {
      if (mc.meta->id != mc.id) return done(make_error("store: message " + mc.id + ": meta is for another id"));
      if (auto s = validate_meta(*mc.meta); !s) return done(s.error());
    }
    if (auto s = check_pieces(mc.chunks, impl_->options.max_chunk_size); !s) return done(s.error());
  }
  for (const auto& e : batch.queue) {
    if (!valid_message_id(e.message_id)) return done(bad_message_id());
    if (!e.id.empty() && !valid_identifier(e.id)) return done(make_error("store: a queue entry id is not valid"));
  }
  impl_->submit<std::monostate>([impl = impl_.get(), batch = std::move(batch)]() { return impl->commit_on_writer(batch); },
                                std::move(done));
}

void SqliteStore::abort_async(MessageId id, Completion<std::monostate> done) {
  if (!valid_message_id(id)) return done(bad_message_id());
  impl_->submit<std::monostate>(
      [impl = impl_.get(), id = std::move(id)]() -> Status {
        auto state = read_state(*impl->writer, id);
        if (!state) return state.error();
        if (!*state) return ok_status();  // already gone (e.g. removed at open)
        if (**state != MessageState::receiving) {
          return make_error("store: message " + id + " is " + std::string(to_string(**state)) + "; only a receiving message can be aborted");
        }
        return impl->delete_content(sql::delete_receiving_message, id);  // the chunks go with the row
      },
      std::move(done));
}

// ---- messages: reads ------------------------------------------------------------------------------

std::unique_ptr<Store::ReadScope> SqliteStore::read_scope() {
  if (pinned_reader.pool == &impl_->readers || impl_->writer_thread->on_writer_thread()) return nullptr;
  return std::make_unique<SqliteReadScope>(impl_->readers, impl_->readers.acquire());
}

Result<std::optional<MessageMeta>> SqliteStore::find_message(const MessageId& id) {
  auto db = impl_->readers.acquire();
  ReadTransaction snapshot(*db);
  auto q = db->query(sql::select_message);
  if (!q) return q.error();
  q->bind(1, id);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<MessageMeta>();
  auto meta = message_from_row(*q);
  if (!meta) return meta.error();
  auto r = db->query(sql::select_recipients);
  if (!r) return r.error();
  r->bind(1, id);
  for (;;) {
    auto next = r->step();
    if (!next) return next.error();
    if (!*next) break;
    meta->recipients.push_back(r->text(0));
  }
  return std::optional<MessageMeta>(std::move(*meta));
}

Result<std::uint32_t> SqliteStore::for_each_chunk(const MessageId& id, const ChunkVisitor& visit) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_chunks);
  if (!q) return q.error();
  q->bind(1, id);
  std::uint32_t n = 0;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    ++n;
    if (!visit(static_cast<std::uint32_t>(q->int64(0)), q->blob_view(1))) break;
  }
  return n;
}

Result<std::optional<Bytes>> SqliteStore::read_chunk(const MessageId& id, std::uint32_t seq) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_chunk);
  if (!q) return q.error();
  q->bind(1, id).bind(2, std::int64_t{seq});
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Bytes>();
  return std::optional<Bytes>(q->blob(0));
}

// ---- messages: lifecycle --------------------------------------------------------------------------

Result<bool> SqliteStore::shred(const MessageId& id, ShredReason reason, const std::string& actor) {
  if (!valid_message_id(id)) return bad_message_id();
  return impl_->write<bool>([&] { return impl_->shred_on_writer(id, reason, actor); });
}

Result<bool> SqliteStore::revoke(const MessageId& id, const std::string& actor) {
  return shred(id, ShredReason::revoked, actor);
}

Result<std::size_t> SqliteStore::expire(Timestamp now, std::size_t limit) {
  return impl_->write<std::size_t>([&]() -> Result<std::size_t> {
    std::vector<MessageId> ids;
    {
      auto q = impl_->writer->query(sql::select_expired);
      if (!q) return q.error();
      q->bind(1, now).bind(2, to_int64(limit));
      for (;;) {
        auto row = q->step();
        if (!row) return row.error();
        if (!*row) break;
        ids.push_back(q->text(0));
      }
    }
    std::size_t n = 0;
    for (const auto& id : ids) {
      auto done = impl_->shred_on_writer(id, ShredReason::expired, "system");
      if (!done) return done.error();
      if (*done) ++n;
    }
    return n;
  });
}

Result<bool> SqliteStore::set_message_state(const MessageId& id, MessageState from, MessageState to,
                                            const AuditEvents& audit) {
  const auto allowed = [](MessageState s) { return s == MessageState::stored || s == MessageState::locked; };
  if (!allowed(from) || !allowed(to)) return make_error("store: only stored <-> locked can be set directly");
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::set_message_state);
    if (!q) return q.error();
    q->bind(1, id).bind(2, to_string(from)).bind(3, to_string(to));
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed == 0) return false;
    if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    return true;
  });
}

// ---- key rotation ---------------------------------------------------------------------------------

Result<std::vector<WrappedKey>> SqliteStore::list_wrapped_keys(const MessageId& after_id, std::size_t limit,
                                                               std::optional<std::uint32_t> other_than) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_wrapped_keys);
  if (!q) return q.error();
  q->bind(1, after_id).bind(2, to_int64(limit));
  if (other_than) q->bind(3, std::int64_t{*other_than}); else q->bind_null(3);
  std::vector<WrappedKey> out;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(WrappedKey{q->text(0), static_cast<std::uint32_t>(q->int64(1)), q->blob(2)});
  }
  return out;
}

Result<std::size_t> SqliteStore::rewrap(const std::vector<Rewrap>& keys) {
  return impl_->write<std::size_t>([&]() -> Result<std::size_t> {
    std::size_t n = 0;
    for (const auto& k : keys) {
      if (k.wrapped_key.empty()) return make_error("store: message " + k.id + ": empty wrapped key");
      auto q = impl_->writer->query(sql::rewrap_key);
      if (!q) return q.error();
      q->bind(1, k.id).bind(2, std::int64_t{k.old_kek_id}).bind(3, std::span<const std::uint8_t>(k.wrapped_key));
      q->bind(4, std::int64_t{k.new_kek_id});
      auto changed = q->run();
      if (!changed) return changed.error();
      n += static_cast<std::size_t>(*changed);
    }
    return n;
  });
}

// ---- read links -----------------------------------------------------------------------------------

Status SqliteStore::add_tokens(const std::vector<ReadToken>& tokens, const AuditEvents& audit) {
  return impl_->write<std::monostate>([&]() -> Status {
    if (auto s = impl_->insert_tokens(tokens, impl_->now()); !s) return s;
    return impl_->append_audit_on_writer(audit);
  });
}

Result<std::optional<ReadToken>> SqliteStore::find_token(const Hash& token_hash) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_token);
  if (!q) return q.error();
  q->bind(1, std::span<const std::uint8_t>(token_hash));
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<ReadToken>();
  auto t = token_from_row(*q);
  if (!t) return t.error();
  return std::optional<ReadToken>(std::move(*t));
}

Result<std::size_t> SqliteStore::revoke_token(const Hash& token_hash, const AuditEvents& audit) {
  return impl_->write<std::size_t>([&]() -> Result<std::size_t> {
    auto q = impl_->writer->query(sql::revoke_token);
    if (!q) return q.error();
    q->bind(1, std::span<const std::uint8_t>(token_hash)).bind(2, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed > 0) {
      if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    }
    return static_cast<std::size_t>(*changed);
  });
}

Result<std::size_t> SqliteStore::revoke_tokens(const MessageId& id, const AuditEvents& audit) {
  return impl_->write<std::size_t>([&]() -> Result<std::size_t> {
    auto q = impl_->writer->query(sql::revoke_message_tokens);
    if (!q) return q.error();
    q->bind(1, id).bind(2, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed > 0) {
      if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    }
    return static_cast<std::size_t>(*changed);
  });
}

// ---- PIN unlock -----------------------------------------------------------------------------------

Result<PinIssue> SqliteStore::issue_pin_challenge(const PinChallenge& challenge, const PinLimits& limits,
                                                  const std::string& actor) {
  if (!valid_identifier(challenge.id)) return make_error("store: a PIN challenge id is not valid");
  if (challenge.mac.empty()) return make_error("store: a PIN challenge needs a MAC");
  return impl_->write<PinIssue>([&]() -> Result<PinIssue> {
    auto& db = *impl_->writer;
    const Timestamp at = impl_->now();
    std::uint32_t failures = 0;
    MessageState state{};
    {
      auto q = db.query(sql::message_pin_failures);
      if (!q) return q.error();
      q->bind(1, challenge.message_id);
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) return make_error("store: no message " + challenge.message_id);
      failures = static_cast<std::uint32_t>(q->int64(0));
      auto s = parse_message_state(q->text(1));
      if (!s) return s.error();
      state = *s;
    }
    if (state != MessageState::stored && state != MessageState::locked) {
      return make_error("store: message " + challenge.message_id + " is " + std::string(to_string(state)));
    }
    PinIssue outcome = PinIssue::issued;
    if (state == MessageState::locked || failures >= limits.max_failures) {
      outcome = PinIssue::locked;
    } else {
      auto q = db.query(sql::count_pins_since);
      if (!q) return q.error();
      q->bind(1, challenge.message_id).bind(2, at - one_hour);
      auto row = q->step();
      if (!row) return row.error();
      if (q->int64(0) >= std::int64_t{limits.max_per_hour}) outcome = PinIssue::rate_limited;
    }
    if (outcome == PinIssue::issued) {
      auto close = db.query(sql::close_open_pins);
      if (!close) return close.error();
      close->bind(1, std::span<const std::uint8_t>(challenge.token_hash)).bind(2, at);
      if (auto r = close->run(); !r) return r.error();
      auto q = db.query(sql::insert_pin);
      if (!q) return q.error();
      q->bind(1, challenge.id).bind(2, challenge.message_id).bind(3, std::span<const std::uint8_t>(challenge.token_hash));
      q->bind(4, std::span<const std::uint8_t>(challenge.mac)).bind(5, at).bind(6, challenge.expires);
      if (auto r = q->run(); !r) return r.error();
    }
    if (auto s = impl_->append_audit_on_writer(
            {AuditEvent{"unlock.pin_issued", challenge.message_id, actor, std::string(to_string(outcome)), "{}"}});
        !s) {
      return s.error();
    }
    return outcome;
  });
}

Result<PinAttempt> SqliteStore::attempt_pin(const std::string& challenge_id, const Bytes& candidate_mac,
                                            const PinLimits& limits, const std::string& actor) {
  return impl_->write<PinAttempt>([&]() -> Result<PinAttempt> {
    auto& db = *impl_->writer;
    const Timestamp at = impl_->now();
    PinAttempt result;
    std::optional<PinChallenge> challenge;
    {
      auto q = db.query(sql::select_pin);
      if (!q) return q.error();
      q->bind(1, challenge_id);
      auto row = q->step();
      if (!row) return row.error();
      if (*row) {
        auto c = pin_from_row(*q);
        if (!c) return c.error();
        challenge = std::move(*c);
      }
    }
    auto record = [&](const MessageId& message) -> Result<PinAttempt> {
      if (auto s = impl_->append_audit_on_writer(
              {AuditEvent{"unlock.pin", message, actor, std::string(to_string(result.verdict)), "{}"}});
          !s) {
        return s.error();
      }
      return result;
    };
    if (!challenge) {
      result.verdict = PinVerdict::not_found;
      return record("");
    }
    MessageState state{};
    {
      auto q = db.query(sql::message_pin_failures);
      if (!q) return q.error();
      q->bind(1, challenge->message_id);
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) return make_error("store: no message " + challenge->message_id);
      result.failures = static_cast<std::uint32_t>(q->int64(0));
      auto s = parse_message_state(q->text(1));
      if (!s) return s.error();
      state = *s;
    }
    const auto left = [&](std::uint32_t attempts) {
      return attempts >= limits.max_attempts ? 0u : limits.max_attempts - attempts;
    };
    result.attempts_left = left(challenge->attempts);
    // Refusals that do not count as an attempt.
    std::optional<PinVerdict> refused;
    if (state == MessageState::locked || result.failures >= limits.max_failures) {
      refused = PinVerdict::locked;
    } else if (state != MessageState::stored) {
      refused = PinVerdict::not_found;  // shredded since the challenge was issued
    } else if (challenge->consumed) {
      refused = PinVerdict::consumed;
    } else if (challenge->expires <= at) {
      refused = PinVerdict::expired;
    } else if (challenge->attempts >= limits.max_attempts) {
      refused = PinVerdict::exhausted;
    }
    if (refused) {
      result.verdict = *refused;
      return record(challenge->message_id);
    }

    {
      auto q = db.query(sql::count_pin_attempt);
      if (!q) return q.error();
      q->bind(1, challenge_id);
      if (auto r = q->run(); !r) return r.error();
    }
    result.attempts_left = left(challenge->attempts + 1);
    if (equal_constant_time(candidate_mac, challenge->mac)) {
      auto q = db.query(sql::consume_pin);
      if (!q) return q.error();
      q->bind(1, challenge_id).bind(2, at);
      if (auto r = q->run(); !r) return r.error();
      result.verdict = PinVerdict::accepted;
    } else {
      auto q = db.query(sql::count_pin_failure);
      if (!q) return q.error();
      q->bind(1, challenge->message_id);
      if (auto r = q->run(); !r) return r.error();
      ++result.failures;
      result.verdict = PinVerdict::wrong;
      if (result.failures >= limits.max_failures) {
        // NIST SP 800-63B §5.2.2: at most 100 consecutive failures, then the authenticator is disabled.
        auto lock = db.query(sql::set_message_state);
        if (!lock) return lock.error();
        lock->bind(1, challenge->message_id).bind(2, to_string(MessageState::stored)).bind(3, to_string(MessageState::locked));
        if (auto r = lock->run(); !r) return r.error();
      }
    }
    return record(challenge->message_id);
  });
}

Result<std::optional<PinChallenge>> SqliteStore::find_open_pin_challenge(const Hash& token_hash) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_open_pin);
  if (!q) return q.error();
  q->bind(1, std::span<const std::uint8_t>(token_hash)).bind(2, impl_->now());
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<PinChallenge>();
  auto c = pin_from_row(*q);
  if (!c) return c.error();
  return std::optional<PinChallenge>(std::move(*c));
}

Result<PinCounters> SqliteStore::pin_counters(const MessageId& id) {
  auto db = impl_->readers.acquire();
  ReadTransaction snapshot(*db);
  PinCounters counters;
  {
    auto q = db->query(sql::count_pins_since);
    if (!q) return q.error();
    q->bind(1, id).bind(2, impl_->now() - one_hour);
    auto row = q->step();
    if (!row) return row.error();
    counters.issued_last_hour = static_cast<std::uint32_t>(q->int64(0));
  }
  auto q = db->query(sql::message_pin_failures);
  if (!q) return q.error();
  q->bind(1, id);
  auto row = q->step();
  if (!row) return row.error();
  if (*row) counters.failures = static_cast<std::uint32_t>(q->int64(0));
  return counters;
}

// ---- device confirmation --------------------------------------------------------------------------

Result<bool> SqliteStore::bind_device(const DeviceBinding& binding, const AuditEvents& audit) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::insert_device);
    if (!q) return q.error();
    q->bind(1, std::span<const std::uint8_t>(binding.token_hash))
        .bind(2, std::span<const std::uint8_t>(binding.device_hash))
        .bind(3, binding.message_id)
        .bind(4, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed == 0) return false;
    if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    return true;
  });
}

Result<bool> SqliteStore::is_device_bound(const Hash& token_hash, const Hash& device_hash) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_device);
  if (!q) return q.error();
  q->bind(1, std::span<const std::uint8_t>(token_hash)).bind(2, std::span<const std::uint8_t>(device_hash));
  auto row = q->step();
  if (!row) return row.error();
  return *row;
}

// ---- delivery queue -------------------------------------------------------------------------------

Result<std::vector<QueueEntry>> SqliteStore::lease_due(const std::string& owner, Timestamp now, std::size_t limit,
                                                       std::chrono::milliseconds lease_for) {
  if (!valid_identifier(owner)) return make_error("store: a lease owner is not valid");
  return impl_->write<std::vector<QueueEntry>>([&] { return impl_->lease_on_writer(owner, now, limit, lease_for); });
}

void SqliteStore::lease_due_async(std::string owner, Timestamp now, std::size_t limit, std::chrono::milliseconds lease_for,
                                  Completion<std::vector<QueueEntry>> done) {
  if (!valid_identifier(owner)) return done(make_error("store: a lease owner is not valid"));
  impl_->submit<std::vector<QueueEntry>>(
      [impl = impl_.get(), owner = std::move(owner), now, limit, lease_for] {
        return impl->lease_on_writer(owner, now, limit, lease_for);
      },
      std::move(done));
}

Status SqliteStore::complete(const std::string& id, const std::string& owner, const AuditEvents& audit) {
  return impl_->write<std::monostate>([&]() -> Status {
    const Timestamp at = impl_->now();
    return impl_->end_lease(sql::complete_entry, id, owner, [&](Query& q) { q.bind(3, at); }, audit);
  });
}

void SqliteStore::complete_async(std::string id, std::string owner, AuditEvents audit,
                                 std::optional<MessageId> shred_when_done, std::string actor,
                                 Completion<Completed> done) {
  if (shred_when_done && !valid_message_id(*shred_when_done)) return done(bad_message_id());
  impl_->submit<Completed>(
      [impl = impl_.get(), id = std::move(id), owner = std::move(owner), audit = std::move(audit),
       shred_when_done = std::move(shred_when_done), actor = std::move(actor)]() -> Result<Completed> {
        const Timestamp at = impl->now();
        if (auto s = impl->end_lease(sql::complete_entry, id, owner, [&](Query& q) { q.bind(3, at); }, audit); !s) {
          return s.error();
        }
        Completed c;
        if (!shred_when_done) return c;
        // The shred in a savepoint of its own: if it fails, the completion still commits.
        if (auto s = impl->writer->run_cached("SAVEPOINT shred_delivered", "starting a shred"); !s) {
          c.shred_error = s.error();
          return c;
        }
        auto shredded = [&]() -> Result<bool> {
          auto q = impl->writer->query(sql::count_pending);
          if (!q) return q.error();
          q->bind(1, *shred_when_done);
          auto row = q->step();
          if (!row) return row.error();
          if (*row && q->int64(0) > 0) return false;
          return impl->shred_on_writer(*shred_when_done, ShredReason::delivered, actor);
        }();
        if (shredded) {
          if (auto s = impl->writer->run_cached("RELEASE shred_delivered", "finishing a shred"); !s) return s.error();
          c.shredded = *shredded;
        } else {
          c.shred_error = shredded.error();
          if (auto s = impl->writer->exec("ROLLBACK TO shred_delivered; RELEASE shred_delivered", "rolling back a shred");
              !s) {
            return s.error();
          }
        }
        return c;
      },
      std::move(done));
}

Status SqliteStore::defer(const std::string& id, const std::string& owner, Timestamp next_attempt,
                          const std::string& error, const AuditEvents& audit) {
  return impl_->write<std::monostate>([&]() -> Status {
    const Timestamp at = impl_->now();
    return impl_->end_lease(
        sql::defer_entry, id, owner, [&](Query& q) { q.bind(3, next_attempt).bind(4, error).bind(5, at); }, audit);
  });
}

Status SqliteStore::fail(const std::string& id, const std::string& owner, const std::string& error,
                         const AuditEvents& audit) {
  return impl_->write<std::monostate>([&]() -> Status {
    const Timestamp at = impl_->now();
    return impl_->end_lease(sql::fail_entry, id, owner, [&](Query& q) { q.bind(3, error).bind(4, at); }, audit);
  });
}

Result<std::vector<QueueEntry>> SqliteStore::list_queue(const QueueFilter& filter) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::list_queue);
  if (!q) return q.error();
  q->bind(1, filter.after_id);
  if (filter.state) q->bind(2, to_string(*filter.state)); else q->bind_null(2);
  q->bind(3, to_int64(filter.limit));
  std::vector<QueueEntry> out;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    auto e = queue_entry_from_row(*q);
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::optional<QueueEntry>> SqliteStore::find_queue_entry(const std::string& id) {
  auto db = impl_->readers.acquire();
  return impl_->queue_entry(*db, id);
}

Result<bool> SqliteStore::retry(const std::string& id, const AuditEvents& audit) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::retry_entry);
    if (!q) return q.error();
    q->bind(1, id).bind(2, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed == 0) return false;
    if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    return true;
  });
}

Result<bool> SqliteStore::drop(const std::string& id, const AuditEvents& audit) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::drop_entry);
    if (!q) return q.error();
    q->bind(1, id).bind(2, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed == 0) return false;
    if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    return true;
  });
}

Result<std::size_t> SqliteStore::purge_queue(Timestamp before) {
  return impl_->write<std::size_t>([&]() -> Result<std::size_t> {
    auto q = impl_->writer->query(sql::purge_queue);
    if (!q) return q.error();
    q->bind(1, before);
    auto changed = q->run();
    if (!changed) return changed.error();
    return static_cast<std::size_t>(*changed);
  });
}

Result<std::size_t> SqliteStore::pending_deliveries(const MessageId& id) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::count_pending);
  if (!q) return q.error();
  q->bind(1, id);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::size_t{0};
  return static_cast<std::size_t>(q->int64(0));
}

Result<std::size_t> SqliteStore::release_leases(const std::string& owner_prefix) {
  if (owner_prefix.empty()) return make_error("store: release_leases needs an owner prefix");
  return impl_->write<std::size_t>([&]() -> Result<std::size_t> {
    auto q = impl_->writer->query(sql::release_leases);
    if (!q) return q.error();
    q->bind(1, owner_prefix).bind(2, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    return static_cast<std::size_t>(*changed);
  });
}

// ---- portal sessions ------------------------------------------------------------------------------

Status SqliteStore::put_session(const Session& session) {
  return impl_->write<std::monostate>([&]() -> Status {
    auto q = impl_->writer->query(sql::insert_session);
    if (!q) return q.error();
    q->bind(1, std::span<const std::uint8_t>(session.id_hash)).bind(2, std::span<const std::uint8_t>(session.data));
    q->bind(3, impl_->now()).bind(4, session.expires).bind(5, session.identity);
    if (auto r = q->run(); !r) return r.error();
    return ok_status();
  }, Durability::session);
}

Result<std::optional<Session>> SqliteStore::find_session(const Hash& id_hash) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_session);
  if (!q) return q.error();
  q->bind(1, std::span<const std::uint8_t>(id_hash)).bind(2, impl_->now());
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Session>();
  Session s;
  auto h = q->hash(0);
  if (!h) return h.error();
  s.id_hash = *h;
  s.data = q->blob(1);
  s.created = q->time(2);
  s.last_seen = q->time(3);
  s.expires = q->time(4);
  if (!q->is_null(5)) s.identity = q->blob(5);
  return std::optional<Session>(std::move(s));
}

Result<bool> SqliteStore::touch_session(const Hash& id_hash, const std::optional<Bytes>& data) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(data ? sql::touch_session_data : sql::touch_session);
    if (!q) return q.error();
    q->bind(1, std::span<const std::uint8_t>(id_hash)).bind(2, impl_->now());
    if (data) q->bind(3, std::span<const std::uint8_t>(*data));
    auto changed = q->run();
    if (!changed) return changed.error();
    return *changed > 0;
  }, Durability::session);
}

Result<bool> SqliteStore::delete_session(const Hash& id_hash) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::delete_session);
    if (!q) return q.error();
    q->bind(1, std::span<const std::uint8_t>(id_hash));
    auto changed = q->run();
    if (!changed) return changed.error();
    return *changed > 0;
  });
}

Status SqliteStore::replace_session(const Hash& old_id_hash, const Session& fresh) {
  return impl_->write<std::monostate>([&]() -> Status {
    auto d = impl_->writer->query(sql::delete_session);
    if (!d) return d.error();
    d->bind(1, std::span<const std::uint8_t>(old_id_hash));
    if (auto r = d->run(); !r) return r.error();
    auto q = impl_->writer->query(sql::insert_session);
    if (!q) return q.error();
    q->bind(1, std::span<const std::uint8_t>(fresh.id_hash)).bind(2, std::span<const std::uint8_t>(fresh.data));
    q->bind(3, impl_->now()).bind(4, fresh.expires).bind(5, fresh.identity);
    if (auto r = q->run(); !r) return r.error();
    return ok_status();
  }, Durability::session);
}

Result<bool> SqliteStore::set_session_identity(const Hash& id_hash, const std::optional<Bytes>& identity) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::set_session_identity);
    if (!q) return q.error();
    q->bind(1, std::span<const std::uint8_t>(id_hash)).bind(2, impl_->now()).bind(3, identity);
    auto changed = q->run();
    if (!changed) return changed.error();
    return *changed > 0;
  });
}

Result<std::size_t> SqliteStore::purge_sessions(Timestamp now, Timestamp idle_before) {
  return impl_->write<std::size_t>([&]() -> Result<std::size_t> {
    auto q = impl_->writer->query(sql::purge_sessions);
    if (!q) return q.error();
    q->bind(1, now).bind(2, idle_before);
    auto changed = q->run();
    if (!changed) return changed.error();
    auto once = impl_->writer->query(sql::purge_auth_once);
    if (!once) return once.error();
    once->bind(1, now);
    if (auto r = once->run(); !r) return r.error();
    return static_cast<std::size_t>(*changed);
  });
}

Result<ConversationPurge> SqliteStore::purge_conversations(Timestamp staff_seen_before) {
  return impl_->write<ConversationPurge>([&]() -> Result<ConversationPurge> {
    ConversationPurge out;
    auto claims = impl_->writer->query(sql::purge_claims);
    if (!claims) return claims.error();
    auto c = claims->run();
    if (!c) return c.error();
    out.claims = static_cast<std::size_t>(*c);
    auto threads = impl_->writer->query(sql::purge_threads);
    if (!threads) return threads.error();
    auto t = threads->run();
    if (!t) return t.error();
    out.threads = static_cast<std::size_t>(*t);
    auto staff = impl_->writer->query(sql::purge_staff_members);
    if (!staff) return staff.error();
    staff->bind(1, staff_seen_before);
    auto m = staff->run();
    if (!m) return m.error();
    out.staff_members = static_cast<std::size_t>(*m);
    return out;
  });
}

Result<bool> SqliteStore::use_once(OnceKind kind, const Hash& value_hash, Timestamp expires) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::insert_auth_once);
    if (!q) return q.error();
    q->bind(1, to_string(kind)).bind(2, std::span<const std::uint8_t>(value_hash)).bind(3, expires);
    auto changed = q->run();
    if (!changed) return changed.error();
    return *changed > 0;
  });
}

// ---- audit hash chain -----------------------------------------------------------------------------

// ---- threads and team claims -----------------------------------------------------------------------

Result<std::optional<Thread>> SqliteStore::find_thread(const std::string& id) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_thread);
  if (!q) return q.error();
  q->bind(1, id);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Thread>();
  auto t = thread_from_row(*q);
  if (!t) return t.error();
  return std::optional<Thread>(std::move(*t));
}

Result<std::vector<Thread>> SqliteStore::threads_for_identity(const Bytes& identity, std::size_t limit) {
  std::vector<Thread> out;
  if (identity.empty()) return out;
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_threads_for_identity);
  if (!q) return q.error();
  q->bind(1, std::span<const std::uint8_t>(identity)).bind(2, to_int64(limit));
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    auto t = thread_from_row(*q);
    if (!t) return t.error();
    out.push_back(std::move(*t));
  }
  return out;
}

Result<std::vector<MessageMeta>> SqliteStore::thread_messages(const std::string& thread_id, std::size_t limit) {
  std::vector<MessageId> ids;
  {
    auto db = impl_->readers.acquire();
    auto q = db->query(sql::select_thread_message_ids);
    if (!q) return q.error();
    q->bind(1, thread_id).bind(2, to_int64(limit));
    for (;;) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      ids.push_back(q->text(0));
    }
  }
  std::vector<MessageMeta> out;
  for (const auto& id : ids) {
    auto m = find_message(id);
    if (!m) return m.error();
    if (*m) out.push_back(std::move(**m));
  }
  return out;
}

Result<bool> SqliteStore::set_thread_state(const std::string& id, ThreadState from, ThreadState to,
                                           const AuditEvents& audit) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::update_thread_state);
    if (!q) return q.error();
    q->bind(1, id).bind(2, to_string(from)).bind(3, to_string(to)).bind(4, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed == 0) return false;
    if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    return true;
  });
}

Result<ClaimOutcome> SqliteStore::claim(const Claim& claim, const AuditEvents& audit) {
  return impl_->write<ClaimOutcome>([&]() -> Result<ClaimOutcome> {
    if (claim.staff_subject.empty()) return make_error("store: a claim needs a staff subject");
    auto q = impl_->writer->query(sql::insert_claim);
    if (!q) return q.error();
    q->bind(1, claim.message_id).bind(2, claim.team_id).bind(3, claim.staff_subject).bind(4, claim.staff_name);
    q->bind(5, lower_ascii(claim.staff_email)).bind(6, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    ClaimOutcome out;
    out.claimed = *changed == 1;
    if (out.claimed) {
      if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    }
    auto holder = impl_->claim_on(*impl_->writer, claim.message_id);
    if (!holder) return holder.error();
    if (!*holder) return make_error("store: claim of " + claim.message_id + " vanished");
    out.holder = std::move(**holder);
    return out;
  });
}

Result<std::optional<Claim>> SqliteStore::find_claim(const MessageId& message_id) {
  auto db = impl_->readers.acquire();
  return impl_->claim_on(*db, message_id);
}

Result<bool> SqliteStore::release_claim(const MessageId& message_id, const AuditEvents& audit) {
  return impl_->write<bool>([&]() -> Result<bool> {
    auto q = impl_->writer->query(sql::delete_claim);
    if (!q) return q.error();
    q->bind(1, message_id);
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed == 0) return false;
    if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    return true;
  });
}

Result<bool> SqliteStore::reassign_claim(const Claim& claim, const AuditEvents& audit) {
  return impl_->write<bool>([&]() -> Result<bool> {
    if (claim.staff_subject.empty()) return make_error("store: a claim needs a staff subject");
    auto q = impl_->writer->query(sql::reassign_claim);
    if (!q) return q.error();
    q->bind(1, claim.message_id).bind(2, claim.staff_subject).bind(3, claim.staff_name);
    q->bind(4, lower_ascii(claim.staff_email)).bind(5, impl_->now());
    auto changed = q->run();
    if (!changed) return changed.error();
    if (*changed == 0) return false;
    if (auto s = impl_->append_audit_on_writer(audit); !s) return s.error();
    return true;
  });
}

// ---- staff members ----------------------------------------------------------------------------------

Status SqliteStore::upsert_staff_member(const StaffMember& member) {
  return impl_->write<std::monostate>([&]() -> Status {
    if (member.subject.empty()) return make_error("store: a staff member needs a subject");
    std::string groups;
    for (const auto& g : member.groups) {
      if (g.empty() || g.find('\n') != std::string::npos) continue;  // one per line
      groups += g;
      groups += '\n';
    }
    auto q = impl_->writer->query(sql::upsert_staff_member);
    if (!q) return q.error();
    q->bind(1, member.subject).bind(2, member.name).bind(3, lower_ascii(member.email)).bind(4, groups);
    q->bind(5, impl_->now());
    if (auto r = q->run(); !r) return r.error();
    return ok_status();
  });
}

Result<std::optional<StaffMember>> SqliteStore::find_staff_member(const std::string& subject) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_staff_member);
  if (!q) return q.error();
  q->bind(1, subject);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<StaffMember>();
  return std::optional<StaffMember>(staff_member_from_row(*q));
}

Result<std::vector<StaffMember>> SqliteStore::staff_members_in(const std::string& group, std::size_t limit) {
  std::vector<StaffMember> out;
  if (group.empty()) return out;
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_staff_members);
  if (!q) return q.error();
  while (out.size() < limit) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    auto m = staff_member_from_row(*q);
    if (std::find(m.groups.begin(), m.groups.end(), group) != m.groups.end()) out.push_back(std::move(m));
  }
  return out;
}

Status SqliteStore::append_audit(const AuditEvents& events) {
  return impl_->write<std::monostate>([&] { return impl_->append_audit_on_writer(events); });
}

Result<AuditHead> SqliteStore::audit_head() {
  auto db = impl_->readers.acquire();
  ReadTransaction snapshot(*db);
  return read_head(*db);
}

Result<AuditVerification> SqliteStore::verify_audit() {
  auto db = impl_->readers.acquire();
  ReadTransaction snapshot(*db);
  auto checkpoint = read_checkpoint(*db);
  if (!checkpoint) return checkpoint.error();
  audit_chain::Verifier verifier(impl_->hash, *checkpoint);
  auto q = db->query(sql::select_audit_after);
  if (!q) return q.error();
  q->bind(1, std::int64_t{0});
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    auto r = audit_from_row(*q);
    if (!r) return r.error();
    if (!verifier.add(*r)) break;
  }
  return verifier.finish();
}

Result<std::uint64_t> SqliteStore::export_audit(std::uint64_t after_seq, const AuditVisitor& visit) {
  auto db = impl_->readers.acquire();
  auto q = db->query(sql::select_audit_after);
  if (!q) return q.error();
  q->bind(1, to_int64(after_seq));
  std::uint64_t n = 0;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    auto r = audit_from_row(*q);
    if (!r) return r.error();
    ++n;
    if (!visit(*r)) break;
  }
  return n;
}

Result<std::uint64_t> SqliteStore::purge_audit(Timestamp older_than, const std::string& actor) {
  return impl_->write<std::uint64_t>([&]() -> Result<std::uint64_t> {
    auto& db = *impl_->writer;
    // The records to purge are the prefix before the first one at or after `older_than`.
    std::int64_t through = 0;
    {
      auto q = db.query(sql::first_audit_at_or_after);
      if (!q) return q.error();
      q->bind(1, older_than);
      auto row = q->step();
      if (!row) return row.error();
      if (!q->is_null(0)) {
        through = q->int64(0) - 1;
      } else {
        auto m = db.query(sql::audit_max_seq);
        if (!m) return m.error();
        auto mrow = m->step();
        if (!mrow) return mrow.error();
        through = m->is_null(0) ? 0 : m->int64(0);
      }
    }
    auto checkpoint = read_checkpoint(db);
    if (!checkpoint) return checkpoint.error();
    if (through <= 0 || (*checkpoint && static_cast<std::uint64_t>(through) <= (*checkpoint)->seq)) {
      return std::uint64_t{0};
    }
    Hash last{};
    {
      auto q = db.query(sql::audit_record_hash);
      if (!q) return q.error();
      q->bind(1, through);
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) return make_error("store: audit record " + std::to_string(through) + " is missing");
      auto h = q->hash(0);
      if (!h) return h.error();
      last = *h;
    }
    std::uint64_t count = 0;
    {
      auto q = db.query(sql::count_audit_through);
      if (!q) return q.error();
      q->bind(1, through);
      auto row = q->step();
      if (!row) return row.error();
      count = static_cast<std::uint64_t>(q->int64(0));
    }
    {
      auto q = db.query(sql::upsert_checkpoint);
      if (!q) return q.error();
      q->bind(1, through).bind(2, std::span<const std::uint8_t>(last)).bind(3, impl_->now());
      if (auto r = q->run(); !r) return r.error();
    }
    {
      auto q = db.query(sql::delete_audit_through);
      if (!q) return q.error();
      q->bind(1, through);
      if (auto r = q->run(); !r) return r.error();
    }
    const auto details = audit_chain::purge_details(static_cast<std::uint64_t>(through), last, count);
    if (auto s = impl_->append_audit_on_writer(
            {AuditEvent{std::string(audit_chain::purged_event), "", actor, "ok", details}});
        !s) {
      return s.error();
    }
    return count;
  });
}

Result<std::optional<AuditCheckpoint>> SqliteStore::audit_checkpoint() {
  auto db = impl_->readers.acquire();
  return read_checkpoint(*db);
}

}  // namespace sinetti::store
