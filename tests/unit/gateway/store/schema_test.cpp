// SqliteStore's file, pragmas and migrations: WAL + synchronous=FULL verified and enforced, files
// 0600, versioned migrations applied once, a newer schema refused.
#include <sys/stat.h>

#include "gateway/store/sqlite/connection.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "store_fixture.hpp"

using namespace store_test;
namespace sq = sinetti::store::sqlite;

namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(p.c_str(), &st) == 0, p);
  return st.st_mode & 0777;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_schema)

BOOST_FIXTURE_TEST_CASE(opens_in_wal_with_full_synchronous_and_foreign_keys, Fixture) {
  auto store = open();
  RawDb raw(db_path);
  BOOST_TEST(raw.text("PRAGMA journal_mode") == "wal");  // a property of the file, seen by any connection
  // The store's own connections: open the writer the way the store does and read its settings back.
  auto c = sq::Connection::open(db_path, sq::Connection::Role::reader, 1000ms);
  BOOST_TEST_REQUIRE(c.ok());
  auto q = (*c)->query("PRAGMA synchronous");
  BOOST_TEST_REQUIRE(q.ok());
  BOOST_TEST_REQUIRE(*q->step());
  BOOST_TEST(q->int64(0) == 2);
  auto fk = (*c)->query("PRAGMA foreign_keys");
  BOOST_TEST_REQUIRE(fk.ok());
  BOOST_TEST_REQUIRE(*fk->step());
  BOOST_TEST(fk->int64(0) == 1);
}

BOOST_AUTO_TEST_CASE(durability_check_refuses_other_settings) {
  TempDir dir;
  RawDb raw(dir.path() / "x.db");
  raw.exec("CREATE TABLE t (x)");
  BOOST_TEST(raw.text("PRAGMA journal_mode=DELETE") == "delete");
  auto s = sq::check_durability(raw.raw());
  BOOST_TEST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("not WAL") != std::string::npos, s.error().message);

  BOOST_TEST(raw.text("PRAGMA journal_mode=WAL") == "wal");
  raw.exec("PRAGMA synchronous=NORMAL");
  s = sq::check_durability(raw.raw());
  BOOST_TEST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("not FULL") != std::string::npos, s.error().message);

  raw.exec("PRAGMA synchronous=FULL");
  BOOST_TEST(sq::check_durability(raw.raw()).ok());
}

BOOST_FIXTURE_TEST_CASE(a_database_held_in_rollback_mode_by_another_connection_is_refused, Fixture) {
  RawDb raw(db_path);
  raw.exec("PRAGMA journal_mode=DELETE; CREATE TABLE t (x); INSERT INTO t VALUES (1);");
  BOOST_TEST(raw.exec("BEGIN; SELECT * FROM t;").empty());  // keeps a shared lock: WAL cannot be entered
  BOOST_TEST(raw.integer("SELECT COUNT(*) FROM t") == 1);
  auto o = options();
  o.busy_timeout = 50ms;
  auto s = SqliteStore::open(o, clock, sha256);
  BOOST_TEST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("locked") != std::string::npos, s.error().message);
  raw.exec("COMMIT");
  auto again = SqliteStore::open(o, clock, sha256);
  BOOST_TEST(again.ok());
}

BOOST_FIXTURE_TEST_CASE(database_and_log_files_are_0600, Fixture) {
  {
    // A file left readable by others is tightened too.
    RawDb raw(db_path);
  }
  BOOST_TEST_REQUIRE(::chmod(db_path.c_str(), 0644) == 0);
  const auto old_umask = ::umask(022);
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  ::umask(old_umask);
  BOOST_TEST(mode_of(db_path) == 0600u);
  BOOST_TEST(mode_of(db_path.string() + "-wal") == 0600u);
  BOOST_TEST(mode_of(db_path.string() + "-shm") == 0600u);
  BOOST_TEST(mode_of(db_path.string() + ".lock") == 0600u);
}

BOOST_FIXTURE_TEST_CASE(fresh_database_gets_every_migration_once, Fixture) {
  {
    auto store = open();
  }
  {
    auto store = open();  // re-open: nothing applied twice
    BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  }
  RawDb raw(db_path);
  BOOST_TEST(raw.integer("SELECT COUNT(*) FROM schema_version") == static_cast<std::int64_t>(sq::migrations().size()));
  BOOST_TEST(raw.integer("SELECT MAX(version) FROM schema_version") == sq::migrations().back().version);
  for (const char* table : {"messages", "message_recipients", "content_chunks", "read_tokens", "pin_challenges",
                            "device_bindings", "queue_entries", "portal_sessions", "audit_log", "audit_checkpoint"}) {
    BOOST_TEST(raw.integer(std::string("SELECT COUNT(*) FROM sqlite_schema WHERE type='table' AND name='") + table + "'") == 1,
               table);
  }
  auto store = open();
  auto m = store->find_message("m1");
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->has_value());
}

BOOST_FIXTURE_TEST_CASE(a_newer_schema_is_refused, Fixture) {
  { auto store = open(); }
  {
    RawDb raw(db_path);
    BOOST_TEST(raw.exec("INSERT INTO schema_version VALUES (999, 0, 'from the future')").empty());
  }
  auto s = SqliteStore::open(options(), clock, sha256);
  BOOST_TEST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("newer") != std::string::npos, s.error().message);
  BOOST_TEST(s.error().message.find("999") != std::string::npos, s.error().message);
}

BOOST_FIXTURE_TEST_CASE(migrations_upgrade_an_existing_database_in_order, Fixture) {
  auto c = sq::Connection::open(db_path, sq::Connection::Role::writer, 1000ms);
  BOOST_TEST_REQUIRE(c.ok());
  const sq::Migration v1[] = {{1, "one", "CREATE TABLE a (x INTEGER)"}};
  const sq::Migration v2[] = {{1, "one", "CREATE TABLE a (x INTEGER)"}, {2, "two", "ALTER TABLE a ADD COLUMN y TEXT"}};
  auto r = sq::migrate(**c, v1, epoch_2025());
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(*r == 1);
  r = sq::migrate(**c, v2, epoch_2025());
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(*r == 2);
  RawDb raw(db_path);
  BOOST_TEST(raw.exec("INSERT INTO a (x, y) VALUES (1, 'z')").empty());
  BOOST_TEST(raw.integer("SELECT COUNT(*) FROM schema_version") == 2);

  // A failing migration leaves the database at the version before it.
  const sq::Migration bad[] = {v2[0], v2[1], {3, "broken", "CREATE TABLE b (x); THIS IS NOT SQL"}};
  r = sq::migrate(**c, bad, epoch_2025());
  BOOST_TEST(!r.ok());
  BOOST_TEST(raw.integer("SELECT MAX(version) FROM schema_version") == 2);
  BOOST_TEST(raw.integer("SELECT COUNT(*) FROM sqlite_schema WHERE name='b'") == 0);

  const sq::Migration unordered[] = {v2[1], v2[0]};
  BOOST_TEST(!sq::migrate(**c, unordered, epoch_2025()).ok());
}

BOOST_AUTO_TEST_SUITE_END()
