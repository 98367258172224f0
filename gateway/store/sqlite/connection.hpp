// A SQLite connection and its prepared statements, with errors as values. Statements are prepared
// once per connection (cached by the address of their SQL text in sql.hpp) and reset after use.
// The durability settings the store demands are applied and then verified here.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/store/types.hpp"

namespace sinetti::store::sqlite {

class Connection;

// One use of a cached statement: bind, step, read columns; reset when it goes out of scope.
class Query {
 public:
  Query(Connection& connection, sqlite3_stmt* stmt) : connection_(&connection), stmt_(stmt) {}
  Query(Query&& other) noexcept;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  ~Query();

  Query& bind(int index, std::int64_t value);
  Query& bind(int index, std::string_view text);           // '' stays ''
  Query& bind_or_null(int index, std::string_view text);   // '' becomes NULL
  // Blobs are bound in place: `blob` must stay alive until the query is done.
  Query& bind(int index, std::span<const std::uint8_t> blob);  // empty stays a zero-length blob
  Query& bind(int index, Timestamp t) { return bind(index, static_cast<std::int64_t>(t.time_since_epoch().count())); }
  Query& bind(int index, const std::optional<Timestamp>& t);
  Query& bind(int index, const std::optional<Bytes>& blob);
  Query& bind_null(int index);

  // true: a row is available; false: done.
  Result<bool> step();
  // Steps to the end, expecting no rows; returns the number of rows changed.
  Result<std::int64_t> run();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string text(int column) const;  // NULL reads as ''
  Bytes blob(int column) const;
  std::span<const std::uint8_t> blob_view(int column) const;  // valid until the next step
  std::optional<Timestamp> optional_time(int column) const;
  Timestamp time(int column) const;
  Result<Hash> hash(int column) const;

 private:
  friend class Connection;
  Connection* connection_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

class Connection {
 public:
  enum class Role { writer, reader };

  // Opens (and for the writer creates) the database. The file must already exist for a reader.
  static Result<std::unique_ptr<Connection>> open(const std::filesystem::path& path, Role role,
                                                  std::chrono::milliseconds busy_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* raw() { return db_; }
  Status exec(const char* sql, std::string_view context);
  // One statement without parameters or rows (BEGIN, SAVEPOINT, COMMIT ...) from the statement
  // cache: the writer runs these for every request, and exec() would parse them every time.
  Status run_cached(const char* sql, std::string_view context);
  Result<Query> query(const char* sql);
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  Error error(int rc, std::string_view context) const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// Refuses a connection that is not in WAL mode with synchronous=FULL (REFERENCES "SMTP": WAL with
// NORMAL can lose a commit on power loss, and a 250 must survive a crash).
Status check_durability(sqlite3* db);

// "store: <context>: <SQLite's message> (<code>)".
Error sqlite_error(sqlite3* db, int rc, std::string_view context);

}  // namespace sinetti::store::sqlite
