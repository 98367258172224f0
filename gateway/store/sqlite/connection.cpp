// SQLite connection, statement cache and the verified durability settings.
#include "gateway/store/sqlite/connection.hpp"

#include <algorithm>
#include <utility>

namespace sinetti::store::sqlite {

Error sqlite_error(sqlite3* db, int rc, std::string_view context) {
  const char* text = nullptr;
  if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)) text = sqlite3_errmsg(db);
  if (text == nullptr) text = sqlite3_errstr(rc);
  return make_error("store: " + std::string(context) + ": " + (text != nullptr ? text : "unknown error") +
                    " (SQLite code " + std::to_string(rc) + ")");
}

// ---- Query ---------------------------------------------------------------------------------------

Query::Query(Query&& other) noexcept
    : connection_(other.connection_), stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(other.bind_error_) {}

Query::~Query() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Query& Query::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Query& Query::bind(int index, std::string_view text) {
  // Text is copied (it is small and often a temporary); blobs are bound in place (chunks are large).
  const int rc = sqlite3_bind_text64(stmt_, index, text.empty() ? "" : text.data(), text.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Query& Query::bind_or_null(int index, std::string_view text) {
  return text.empty() ? bind_null(index) : bind(index, text);
}

Query& Query::bind(int index, std::span<const std::uint8_t> blob) {
  // A null pointer would bind NULL; a zero-length blob stays a blob.
  const int rc = blob.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                              : sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Query& Query::bind(int index, const std::optional<Timestamp>& t) { return t ? bind(index, *t) : bind_null(index); }

Query& Query::bind(int index, const std::optional<Bytes>& blob) {
  return blob ? bind(index, std::span<const std::uint8_t>(*blob)) : bind_null(index);
}

Query& Query::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Result<bool> Query::step() {
  if (bind_error_ != SQLITE_OK) return connection_->error(bind_error_, "binding a parameter");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return connection_->error(rc, "executing a statement");
}

Result<std::int64_t> Query::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) break;
  }
  return static_cast<std::int64_t>(sqlite3_changes64(sqlite3_db_handle(stmt_)));
}

bool Query::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Query::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Query::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::span<const std::uint8_t> Query::blob_view(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr || n <= 0) return {};
  return {p, static_cast<std::size_t>(n)};
}

Bytes Query::blob(int column) const {
  const auto view = blob_view(column);
  return Bytes(view.begin(), view.end());
}

Timestamp Query::time(int column) const { return Timestamp(std::chrono::milliseconds(int64(column))); }

std::optional<Timestamp> Query::optional_time(int column) const {
  if (is_null(column)) return std::nullopt;
  return time(column);
}

Result<Hash> Query::hash(int column) const {
  const auto view = blob_view(column);
  if (view.size() != Hash{}.size()) return make_error("store: a stored hash is not 32 bytes");
  Hash h;
  std::copy(view.begin(), view.end(), h.begin());
  return h;
}

// ---- Connection ----------------------------------------------------------------------------------

namespace {

Status exec_raw(sqlite3* db, const char* sql, std::string_view context) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, context);
  return ok_status();
}

Result<std::string> pragma_value(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, "reading a pragma");
  std::string value;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const auto* p = sqlite3_column_text(stmt, 0);
    if (p != nullptr) value = reinterpret_cast<const char*>(p);
    rc = SQLITE_DONE;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, "reading a pragma");
  return value;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& path, Role role,
                                                     std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
                    (role == Role::writer ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, "opening " + path.string());
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<Connection> c(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(std::min<std::int64_t>(busy_timeout.count(), 1 << 30)));
  // journal_mode=WAL is a property of the file (set by the writer, which opens first); the rest is
  // per connection. secure_delete overwrites deleted content, so a shredded key leaves no trace in
  // free pages (content chunks, only ciphertext, are deleted with FAST: SqliteStore's
  // delete_content). temp_store=MEMORY keeps the statement journal of each SAVEPOINT (a group
  // commit's job, a shred) in memory: by default SQLite moves one beyond 64 KiB to a temporary
  // file, which would put the pages' old contents (a shredded key's among them) on the disk
  // outside the database, and costs an open, writes and a close per commit. It holds the pages one
  // savepoint changes that were in the database before, and is emptied when the savepoint is
  // released.
  const char* setup = role == Role::writer
                          ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                            " PRAGMA secure_delete=ON; PRAGMA journal_size_limit=67108864;"
                            " PRAGMA temp_store=MEMORY;"
                          : "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA query_only=ON;";
  if (auto s = exec_raw(db, setup, "configuring " + path.string()); !s) return s.error();
  if (auto s = check_durability(db); !s) return s.error();
  auto fk = pragma_value(db, "PRAGMA foreign_keys");
  if (!fk) return fk.error();
  if (*fk != "1") return make_error("store: SQLite refused foreign_keys=ON for " + path.string());
  return c;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::exec(const char* sql, std::string_view context) { return exec_raw(db_, sql, context); }

Status Connection::run_cached(const char* sql, std::string_view context) {
  auto q = query(sql);
  if (!q) return make_error(std::string(context) + ": " + q.error().message);
  const int rc = sqlite3_step(q->stmt_);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite_error(db_, rc, context);
  return ok_status();
}

Result<Query> Connection::query(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(rc, "preparing a statement");
    it = statements_.emplace(sql, stmt).first;
  }
  return Query(*this, it->second);
}

Error Connection::error(int rc, std::string_view context) const { return sqlite_error(db_, rc, context); }

Status check_durability(sqlite3* db) {
  auto mode = pragma_value(db, "PRAGMA journal_mode");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return make_error("store: the database is in journal mode '" + *mode +
                      "', not WAL (is it opened elsewhere in another mode, or not a file?)");
  }
  auto sync = pragma_value(db, "PRAGMA synchronous");
  if (!sync) return sync.error();
  if (*sync != "2") {
    return make_error("store: synchronous is " + *sync + ", not FULL (2): a commit could be lost on power failure");
  }
  return ok_status();
}

}  // namespace sinetti::store::sqlite
