// Versioned schema migrations for SQLite, run at open: an ordered list, each applied once and
// recorded in schema_version, all pending ones in one transaction. A database whose version is
// newer than the newest migration this build knows is refused.
#pragma once

#include <span>

#include "gateway/store/sqlite/connection.hpp"

namespace sinetti::store::sqlite {

struct Migration {
  int version;              // 1, 2, 3 ... strictly increasing
  const char* description;
  const char* sql;          // from sql.hpp
};

// The product's migrations, oldest first.
std::span<const Migration> migrations();

// Brings the database up to the last of `list`; returns the version it is at afterwards.
Result<int> migrate(Connection& db, std::span<const Migration> list, Timestamp now);

}  // namespace sinetti::store::sqlite
