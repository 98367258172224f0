// SQLite schema migrations (see migrations.hpp); the SQL itself is in sql.hpp.
#include "gateway/store/sqlite/migrations.hpp"

#include "gateway/store/sqlite/sql.hpp"

namespace sinetti::store::sqlite {

namespace {

constexpr Migration product_migrations[] = {
    {1, "messages, chunks, read tokens, PIN challenges, device bindings, queue, sessions, audit chain",
     sql::migration_1},
    {2, "session identity, single-use authorization codes and nonces", sql::migration_2},
    {3, "threads and team message claims", sql::migration_3},
    {4, "staff members who have signed in", sql::migration_4},
};

Result<int> apply(Connection& db, std::span<const Migration> list, Timestamp now) {
  if (auto s = db.exec(sql::create_schema_version, "creating schema_version"); !s) return s.error();
  auto q = db.query(sql::current_schema_version);
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  int current = static_cast<int>(q->int64(0));
  const int latest = list.empty() ? 0 : list.back().version;
  if (current > latest) {
    return make_error("store: the database schema is version " + std::to_string(current) +
                      ", newer than this build knows (" + std::to_string(latest) + "); use a newer sinetti");
  }
  for (const auto& m : list) {
    if (m.version <= current) continue;
    if (auto s = db.exec(m.sql, "migrating the schema to version " + std::to_string(m.version)); !s) {
      return s.error();
    }
    auto record = db.query(sql::record_schema_version);
    if (!record) return record.error();
    record->bind(1, std::int64_t{m.version}).bind(2, now).bind(3, std::string_view(m.description));
    if (auto r = record->run(); !r) return r.error();
    current = m.version;
  }
  return current;
}

}  // namespace

std::span<const Migration> migrations() { return product_migrations; }

Result<int> migrate(Connection& db, std::span<const Migration> list, Timestamp now) {
  for (std::size_t i = 1; i < list.size(); ++i) {
    if (list[i].version <= list[i - 1].version) return make_error("store: migrations are not in version order");
  }
  if (auto s = db.exec("BEGIN IMMEDIATE", "starting the schema migration"); !s) return s.error();
  auto result = apply(db, list, now);
  if (!result) {
    (void)db.exec("ROLLBACK", "rolling back the schema migration");
    return result;
  }
  if (auto s = db.exec("COMMIT", "committing the schema migration"); !s) {
    (void)db.exec("ROLLBACK", "rolling back the schema migration");
    return s.error();
  }
  return result;
}

}  // namespace sinetti::store::sqlite
