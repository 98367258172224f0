// The delivery queue: leasing due entries (exclusive under concurrency, expired leases retaken),
// the three ends of a lease, and the operator's list / retry / drop.
#include <algorithm>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "store_fixture.hpp"

using namespace store_test;
using sinetti::Result;

namespace {

// One spool message with `n` queue entries "<id>.1" ... "<id>.n", the i-th due at now + delays[i].
void enqueue(Store& store, const std::string& id, int n, Timestamp due) {
  auto b = whole_message(id, 1, 100);
  b.messages[0].meta->kind = MessageKind::spool;
  b.messages[0].meta->unlock = {};
  for (int i = 0; i < n; ++i) {
    b.queue.push_back(entry(id, "r" + std::to_string(i) + "@example.fi", "", due));
  }
  BOOST_TEST_REQUIRE(store.commit(b).ok());
}

std::vector<std::string> ids(const std::vector<QueueEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.id);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_queue)

BOOST_FIXTURE_TEST_CASE(lease_due_claims_only_due_entries_and_counts_an_attempt, Fixture) {
  auto store = open();
  enqueue(*store, "now", 2, now());
  enqueue(*store, "later", 1, now() + 10min);
  auto leased = store->lease_due("worker-1", now(), 10, 1h);
  BOOST_TEST_REQUIRE(leased.ok());
  BOOST_TEST(ids(*leased) == (std::vector<std::string>{"now.1", "now.2"}));
  for (const auto& e : *leased) {
    BOOST_TEST((e.state == QueueState::leased));
    BOOST_TEST(e.lease_owner == "worker-1");
    BOOST_TEST((e.lease_expires == std::optional<Timestamp>(now() + 1h)));
    BOOST_TEST(e.attempts == 1u);
    BOOST_TEST(e.sender == "sender@example.com");
    BOOST_TEST((e.kind == DeliveryKind::forward));
  }
  BOOST_TEST(store->lease_due("worker-2", now(), 10, 5min)->empty());
  auto later = store->lease_due("worker-2", now() + 10min, 10, 5min);
  BOOST_TEST(ids(*later) == std::vector<std::string>{"later.1"});
}

BOOST_FIXTURE_TEST_CASE(limit_bounds_a_lease, Fixture) {
  auto store = open();
  enqueue(*store, "m", 5, now());
  BOOST_TEST(store->lease_due("w", now(), 2, 1min)->size() == 2u);
  BOOST_TEST(store->lease_due("w", now(), 2, 1min)->size() == 2u);
  BOOST_TEST(store->lease_due("w", now(), 2, 1min)->size() == 1u);
  BOOST_TEST(store->lease_due("w", now(), 2, 1min)->empty());
}

BOOST_FIXTURE_TEST_CASE(lease_due_async_claims_like_lease_due_and_completes_on_the_writer, Fixture) {
  auto store = open();
  enqueue(*store, "now", 3, now());
  enqueue(*store, "later", 1, now() + 10min);
  std::promise<std::pair<Result<std::vector<QueueEntry>>, std::thread::id>> first;
  store->lease_due_async("worker-1", now(), 2, 1h, [&](Result<std::vector<QueueEntry>> r) {
    first.set_value({std::move(r), std::this_thread::get_id()});
  });
  auto [leased, completed_on] = first.get_future().get();
  BOOST_TEST((completed_on != std::this_thread::get_id()));  // the writer's thread, nobody waited
  BOOST_TEST_REQUIRE(leased.ok());
  BOOST_TEST(leased->size() == 2u);
  for (const auto& e : *leased) {
    BOOST_TEST(e.message_id == "now");
    BOOST_TEST(e.attempts == 1u);
    BOOST_TEST(((*store->find_queue_entry(e.id))->state == QueueState::leased));
  }
  // The third is still due; the other owner gets it and nothing of worker-1's.
  std::promise<Result<std::vector<QueueEntry>>> second;
  store->lease_due_async("worker-2", now(), 10, 1h, [&](Result<std::vector<QueueEntry>> r) { second.set_value(std::move(r)); });
  auto rest = second.get_future().get();
  BOOST_TEST_REQUIRE(rest.ok());
  BOOST_TEST_REQUIRE(rest->size() == 1u);
  BOOST_TEST(rest->front().message_id == "now");
  const auto mine = ids(*leased);
  BOOST_TEST((std::find(mine.begin(), mine.end(), rest->front().id) == mine.end()));
  std::promise<Result<std::vector<QueueEntry>>> bad;
  store->lease_due_async("not a valid owner\n", now(), 10, 1h, [&](Result<std::vector<QueueEntry>> r) { bad.set_value(std::move(r)); });
  BOOST_TEST(!bad.get_future().get().ok());
}

BOOST_FIXTURE_TEST_CASE(concurrent_lessees_never_share_an_entry, Fixture) {
  auto store = open();
  for (int m = 0; m < 10; ++m) enqueue(*store, "m" + std::to_string(m), 12, now());
  constexpr int workers = 6;
  std::mutex mutex;
  std::vector<std::string> all;
  std::latch start(workers);
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      start.arrive_and_wait();
      for (;;) {
        auto leased = store->lease_due("worker-" + std::to_string(w), now(), 3, 10min);
        BOOST_CHECK(leased.ok());
        if (!leased || leased->empty()) break;
        std::lock_guard lock(mutex);
        for (const auto& e : *leased) {
          BOOST_CHECK(e.lease_owner == "worker-" + std::to_string(w));
          all.push_back(e.id);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  BOOST_TEST(all.size() == 120u);
  BOOST_TEST(std::set<std::string>(all.begin(), all.end()).size() == 120u);
}

BOOST_FIXTURE_TEST_CASE(an_expired_lease_is_taken_again_and_the_old_owner_loses_it, Fixture) {
  auto store = open();
  enqueue(*store, "m", 1, now());
  BOOST_TEST_REQUIRE(store->lease_due("crashed", now(), 10, 5min)->size() == 1u);
  BOOST_TEST(store->lease_due("rescuer", now() + 4min, 10, 5min)->empty());
  auto again = store->lease_due("rescuer", now() + 5min, 10, 5min);
  BOOST_TEST_REQUIRE(again->size() == 1u);
  BOOST_TEST((*again)[0].lease_owner == "rescuer");
  BOOST_TEST((*again)[0].attempts == 2u);
  auto lost = store->complete("m.1", "crashed", {});
  BOOST_TEST_REQUIRE(!lost.ok());
  BOOST_TEST(lost.error().message.find("not leased by crashed") != std::string::npos);
  BOOST_TEST(store->complete("m.1", "rescuer", {event("delivery.done", "m", "system", "ok")}).ok());
  const auto e = **store->find_queue_entry("m.1");
  BOOST_TEST((e.state == QueueState::done));
  BOOST_TEST(e.lease_owner.empty());
  BOOST_TEST(!e.lease_expires.has_value());
  BOOST_TEST(store->audit_head()->seq == 2u);
  BOOST_TEST(!store->complete("m.1", "rescuer", {}).ok());  // not leased any more
}

BOOST_FIXTURE_TEST_CASE(a_lease_takes_the_earliest_due_of_queued_entries_and_expired_leases_together, Fixture) {
  auto store = open();
  // Expired leases: x.1 and x.2 leased at now() for 3 min (due again at +3 min).
  enqueue(*store, "x", 2, now());
  BOOST_TEST_REQUIRE(store->lease_due("crashed", now(), 2, 3min)->size() == 2u);
  // Queued: b.* due at +2 min, a.* and c.* at +4 min (ties go by id), d.1 not due yet.
  enqueue(*store, "c", 2, now() + 4min);
  enqueue(*store, "b", 2, now() + 2min);
  enqueue(*store, "a", 1, now() + 4min);
  enqueue(*store, "d", 1, now() + 1h);
  const Timestamp at = now() + 5min;
  BOOST_TEST(ids(*store->lease_due("w", at, 3, 10min)) == (std::vector<std::string>{"b.1", "b.2", "x.1"}));
  BOOST_TEST(ids(*store->lease_due("w", at, 3, 10min)) == (std::vector<std::string>{"x.2", "a.1", "c.1"}));
  BOOST_TEST(ids(*store->lease_due("w", at, 3, 10min)) == (std::vector<std::string>{"c.2"}));
  BOOST_TEST(store->lease_due("w", at, 3, 10min)->empty());
}

BOOST_FIXTURE_TEST_CASE(defer_puts_an_entry_back_for_later_with_its_error, Fixture) {
  auto store = open();
  enqueue(*store, "m", 1, now());
  BOOST_TEST_REQUIRE(store->lease_due("w", now(), 1, 5min)->size() == 1u);
  BOOST_TEST_REQUIRE(store->defer("m.1", "w", now() + 30min, "451 4.3.0 try later", {}).ok());
  auto e = **store->find_queue_entry("m.1");
  BOOST_TEST((e.state == QueueState::queued));
  BOOST_TEST(e.last_error == "451 4.3.0 try later");
  BOOST_TEST((e.next_attempt == std::optional<Timestamp>(now() + 30min)));
  BOOST_TEST(store->lease_due("w", now() + 29min, 1, 5min)->empty());
  BOOST_TEST(store->lease_due("w", now() + 30min, 1, 5min)->size() == 1u);
  BOOST_TEST(!store->defer("m.1", "other", now(), "x", {}).ok());
}

BOOST_FIXTURE_TEST_CASE(fail_retry_and_drop, Fixture) {
  auto store = open();
  enqueue(*store, "m", 3, now());
  BOOST_TEST_REQUIRE(store->lease_due("w", now(), 3, 5min)->size() == 3u);
  BOOST_TEST_REQUIRE(store->fail("m.1", "w", "550 5.1.1 no such user", {}).ok());
  BOOST_TEST_REQUIRE(store->complete("m.2", "w", {}).ok());
  auto e = **store->find_queue_entry("m.1");
  BOOST_TEST((e.state == QueueState::failed));
  BOOST_TEST(e.last_error == "550 5.1.1 no such user");

  clock.advance(1min);
  BOOST_TEST(*store->retry("m.1", {event("queue.retry", "m", "admin", "ok")}));
  e = **store->find_queue_entry("m.1");
  BOOST_TEST((e.state == QueueState::queued));
  BOOST_TEST((e.next_attempt == std::optional<Timestamp>(now())));
  BOOST_TEST(!*store->retry("m.2", {}));   // done stays done
  BOOST_TEST(!*store->retry("none", {}));
  // A delivery under way is not restarted beside itself: only once its lease has run out.
  BOOST_TEST_REQUIRE(store->lease_due("w", now(), 1, 5min)->size() == 1u);  // m.1 again
  BOOST_TEST(!*store->retry("m.1", {}));
  BOOST_TEST(((*store->find_queue_entry("m.1"))->state == QueueState::leased));
  clock.advance(5min);
  BOOST_TEST(*store->retry("m.1", {}));
  BOOST_TEST(((*store->find_queue_entry("m.1"))->state == QueueState::queued));

  BOOST_TEST(*store->drop("m.3", {}));     // leased: the lease is broken
  BOOST_TEST(((*store->find_queue_entry("m.3"))->state == QueueState::dropped));
  BOOST_TEST(!store->complete("m.3", "w", {}).ok());
  BOOST_TEST(!*store->drop("m.2", {}));
  BOOST_TEST(*store->drop("m.1", {}));
  BOOST_TEST(store->lease_due("w", now() + 1h, 10, 5min)->empty());
}

BOOST_FIXTURE_TEST_CASE(list_filters_and_pages_and_purge_removes_finished_entries, Fixture) {
  auto store = open();
  enqueue(*store, "a", 3, now());
  enqueue(*store, "b", 2, now() + 1h);
  BOOST_TEST_REQUIRE(store->lease_due("w", now(), 1, 5min)->size() == 1u);  // a.1
  BOOST_TEST_REQUIRE(store->complete("a.1", "w", {}).ok());

  auto all = store->list_queue({});
  BOOST_TEST(ids(*all) == (std::vector<std::string>{"a.1", "a.2", "a.3", "b.1", "b.2"}));
  QueueFilter only_queued;
  only_queued.state = QueueState::queued;
  auto queued = store->list_queue(only_queued);
  BOOST_TEST(queued->size() == 4u);
  QueueFilter paged;
  paged.after_id = "a.2";
  paged.limit = 2;
  auto page = store->list_queue(paged);
  BOOST_TEST(ids(*page) == (std::vector<std::string>{"a.3", "b.1"}));

  clock.advance(1h);
  BOOST_TEST(*store->purge_queue(now() - 2h) == 0u);
  BOOST_TEST(*store->purge_queue(now()) == 1u);
  BOOST_TEST(!store->find_queue_entry("a.1")->has_value());
  BOOST_TEST(store->list_queue({})->size() == 4u);
}

BOOST_FIXTURE_TEST_CASE(pending_deliveries_and_releasing_a_dead_predecessors_leases, Fixture) {
  auto store = open();
  enqueue(*store, "m", 3, now());
  BOOST_TEST(*store->pending_deliveries("m") == 3u);
  auto leased = store->lease_due("host-a/100/x", now(), 2, 1h);
  BOOST_TEST_REQUIRE(leased->size() == 2u);
  BOOST_TEST(*store->pending_deliveries("m") == 3u);  // leased still counts
  BOOST_TEST(store->complete("m.1", "host-a/100/x", {}).ok());
  BOOST_TEST(*store->pending_deliveries("m") == 2u);
  // Another host's prefix frees nothing; this host's frees the lease at once, attempts kept.
  BOOST_TEST(*store->release_leases("host-b/") == 0u);
  BOOST_TEST(*store->release_leases("host-a/") == 1u);
  auto again = store->lease_due("host-a/200/y", now(), 10, 1h);
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(ids(*again) == (std::vector<std::string>{"m.2", "m.3"}));
  BOOST_TEST((*again)[0].attempts == 2u);
  BOOST_TEST(*store->pending_deliveries("nothing") == 0u);
  BOOST_TEST(!store->release_leases("").ok());
}

namespace {

sinetti::Result<Completed> complete_async(Store& store, const std::string& id, const std::string& owner,
                                 std::optional<MessageId> shred) {
  std::promise<sinetti::Result<Completed>> done;
  store.complete_async(id, owner, {event("delivery.done", "m", "queue", "delivered")}, std::move(shred), "queue",
                       [&done](sinetti::Result<Completed> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(complete_async_shreds_the_copy_with_its_last_delivery_in_the_same_commit, Fixture) {
  auto store = open();
  enqueue(*store, "m", 2, now());
  BOOST_TEST_REQUIRE(store->lease_due("w", now(), 10, 5min)->size() == 2u);

  auto first = complete_async(*store, "m.1", "w", MessageId("m"));
  BOOST_TEST_REQUIRE(first.ok());
  BOOST_TEST(!first->shredded);  // m.2 is still leased
  BOOST_TEST(!first->shred_error.has_value());
  BOOST_TEST(((**store->find_queue_entry("m.1")).state == QueueState::done));
  BOOST_TEST((**store->find_message("m")).wrapped_key.has_value());

  BOOST_TEST(!complete_async(*store, "m.2", "someone-else", MessageId("m")).ok());  // not its lease
  BOOST_TEST((**store->find_message("m")).wrapped_key.has_value());

  auto last = complete_async(*store, "m.2", "w", MessageId("m"));
  BOOST_TEST_REQUIRE(last.ok());
  BOOST_TEST(last->shredded);
  BOOST_TEST(((**store->find_queue_entry("m.2")).state == QueueState::done));
  const auto m = **store->find_message("m");
  BOOST_TEST(((m.state == MessageState::shredded)));
  BOOST_TEST(!m.wrapped_key.has_value());
  BOOST_TEST(m.shred_reason == "delivered");
  std::vector<AuditRecord> audit;
  (void)store->export_audit(0, [&](const AuditRecord& rec) { audit.push_back(rec); return true; });
  BOOST_TEST_REQUIRE(audit.size() >= 3u);
  BOOST_TEST(audit[audit.size() - 2].event == "delivery.done");
  BOOST_TEST(audit.back().event == "message.shredded");
  BOOST_TEST(audit.back().actor == "queue");
}

BOOST_FIXTURE_TEST_CASE(complete_async_without_a_message_to_shred_only_completes, Fixture) {
  auto store = open();
  enqueue(*store, "p", 1, now());
  BOOST_TEST_REQUIRE(store->lease_due("w", now(), 10, 5min)->size() == 1u);
  auto done = complete_async(*store, "p.1", "w", std::nullopt);
  BOOST_TEST_REQUIRE(done.ok());
  BOOST_TEST(!done->shredded);
  BOOST_TEST(((**store->find_queue_entry("p.1")).state == QueueState::done));
  BOOST_TEST((**store->find_message("p")).wrapped_key.has_value());
}

BOOST_FIXTURE_TEST_CASE(a_shred_that_fails_leaves_the_completion_standing, Fixture) {
  auto store = open();
  enqueue(*store, "q", 1, now());
  BOOST_TEST_REQUIRE(store->lease_due("w", now(), 10, 5min)->size() == 1u);
  auto done = complete_async(*store, "q.1", "w", MessageId("no-such-message"));
  BOOST_TEST_REQUIRE(done.ok());
  BOOST_TEST(!done->shredded);
  BOOST_TEST_REQUIRE(done->shred_error.has_value());
  BOOST_TEST(done->shred_error->message.find("no message") != std::string::npos);
  BOOST_TEST(((**store->find_queue_entry("q.1")).state == QueueState::done));
}

BOOST_AUTO_TEST_SUITE_END()
