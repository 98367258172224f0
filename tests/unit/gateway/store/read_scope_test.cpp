// Store::read_scope: one thread's reads from one snapshot and one read connection, until the scope
// ends; other threads, and reads after the scope, see every commit.
#include <thread>

#include "store_fixture.hpp"

using namespace store_test;

namespace {

struct Committed : Fixture {
  std::unique_ptr<SqliteStore> store;
  Hash link = hash_of(7);

  explicit Committed(std::size_t read_connections = 2) {
    auto o = options();
    o.read_connections = read_connections;
    store = open(o);
    BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
    BOOST_TEST_REQUIRE(store->add_tokens({token(link, "m1", "a@example.com", now() + 24h)}, {}).ok());
  }

  bool revoked() {
    auto t = store->find_token(link);
    BOOST_TEST_REQUIRE(t.ok());
    BOOST_TEST_REQUIRE(t->has_value());
    return (*t)->revoked.has_value();
  }
  MessageState state() {
    auto m = store->find_message("m1");
    BOOST_TEST_REQUIRE(m.ok());
    BOOST_TEST_REQUIRE(m->has_value());
    return (*m)->state;
  }
  void revoke() { BOOST_TEST_REQUIRE(*store->revoke_token(link, {}) == 1u); }
  void lock() { BOOST_TEST_REQUIRE(*store->set_message_state("m1", MessageState::stored, MessageState::locked, {})); }
};

struct OneConnection : Committed {
  OneConnection() : Committed(1) {}
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_read_scope)

BOOST_FIXTURE_TEST_CASE(reads_in_a_scope_see_the_snapshot_of_its_first_read, Committed) {
  {
    const auto scope = store->read_scope();
    BOOST_TEST(!revoked());
    revoke();  // committed by the writer while the scope lives
    lock();
    BOOST_TEST(state() == MessageState::stored);  // a read that holds a snapshot of its own, nested
    BOOST_TEST(!revoked());                        // and the scope's snapshot survived it
  }
  BOOST_TEST(revoked());
  BOOST_TEST(state() == MessageState::locked);
}

BOOST_FIXTURE_TEST_CASE(without_a_scope_every_read_sees_the_last_commit, Committed) {
  BOOST_TEST(!revoked());
  revoke();
  BOOST_TEST(revoked());
}

BOOST_FIXTURE_TEST_CASE(other_threads_see_commits_a_scope_does_not, Committed) {
  const auto scope = store->read_scope();
  BOOST_TEST(!revoked());
  revoke();
  bool seen_elsewhere = false;
  std::thread other([&] {
    auto t = store->find_token(link);
    seen_elsewhere = t.ok() && t->has_value() && (*t)->revoked.has_value();
  });
  other.join();
  BOOST_TEST(seen_elsewhere);
  BOOST_TEST(!revoked());
}

BOOST_FIXTURE_TEST_CASE(a_scope_inside_a_scope_leaves_the_outer_snapshot, Committed) {
  const auto outer = store->read_scope();
  BOOST_TEST(!revoked());
  revoke();
  {
    const auto inner = store->read_scope();
    BOOST_TEST(!revoked());
  }
  BOOST_TEST(!revoked());
}

// With a single read connection, a read inside the scope that took a second connection from the
// pool would wait for the scope's own forever.
BOOST_FIXTURE_TEST_CASE(a_scope_reads_through_the_connection_it_holds, OneConnection) {
  {
    const auto scope = store->read_scope();
    BOOST_TEST(!revoked());
    BOOST_TEST(state() == MessageState::stored);
    BOOST_TEST(read_all(*store, "m1").size() == 2u);
  }
  bool read_elsewhere = false;
  std::thread other([&] {  // given back to the pool when the scope ended
    auto t = store->find_token(link);
    read_elsewhere = t.ok() && t->has_value();
  });
  other.join();
  BOOST_TEST(read_elsewhere);
}

BOOST_AUTO_TEST_SUITE_END()
