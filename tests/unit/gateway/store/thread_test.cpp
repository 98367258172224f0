// Threads (bound to a client identity), their messages, and team message claims: first claimer
// wins, release and reassignment, audit only for what happened.
#include "store_fixture.hpp"

using namespace store_test;

namespace {

Thread thread(const std::string& id, const std::string& team, Bytes identity, const std::string& address = "") {
  Thread t;
  t.id = id;
  t.team_id = team;
  t.client_identity = std::move(identity);
  t.client_address = address;
  t.language = "sv";
  return t;
}

Claim claim_by(const MessageId& id, const std::string& subject, const std::string& email) {
  Claim c;
  c.message_id = id;
  c.team_id = "neuvonta";
  c.staff_subject = subject;
  c.staff_name = "Name of " + subject;
  c.staff_email = email;
  return c;
}

std::vector<std::string> audit_events(Store& s) {
  std::vector<std::string> out;
  (void)s.export_audit(0, [&](const AuditRecord& r) {
    out.push_back(r.event + ":" + r.outcome);
    return true;
  });
  return out;
}

const Bytes alice{1, 1, 1, 1};
const Bytes bob{2, 2, 2, 2};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_threads)

BOOST_FIXTURE_TEST_CASE(a_thread_is_created_with_its_first_message, Fixture) {
  auto store = open();
  auto b = whole_message("m1");
  b.messages[0].meta->thread_id = "t1";
  b.threads.push_back(thread("t1", "neuvonta", alice, "client@example.com"));
  b.threads.back().expires = now() + 24h;
  BOOST_TEST_REQUIRE(store->commit(b).ok());

  auto t = store->find_thread("t1");
  BOOST_TEST_REQUIRE(t.ok());
  BOOST_TEST_REQUIRE(t->has_value());
  BOOST_TEST((*t)->team_id == "neuvonta");
  BOOST_TEST(((*t)->client_identity == alice));
  BOOST_TEST((*t)->client_address == "client@example.com");
  BOOST_TEST((*t)->language == "sv");
  BOOST_TEST(((*t)->state == ThreadState::open));
  BOOST_TEST(((*t)->expires == std::optional<Timestamp>(now() + 24h)));
  BOOST_TEST(((*t)->created == now()));
  BOOST_TEST(!store->find_thread("t2")->has_value());

  // A second thread with the same id fails the whole batch: the message is not stored either.
  auto again = whole_message("m2");
  again.threads.push_back(thread("t1", "neuvonta", bob));
  BOOST_TEST(!store->commit(again).ok());
  BOOST_TEST(!store->find_message("m2")->has_value());
  // A thread needs a team and a valid id.
  auto no_team = whole_message("m3");
  no_team.threads.push_back(thread("t3", "", bob));
  BOOST_TEST(!store->commit(no_team).ok());
  auto bad_id = whole_message("m4");
  bad_id.threads.push_back(thread("t 4", "neuvonta", bob));
  BOOST_TEST(!store->commit(bad_id).ok());
}

BOOST_FIXTURE_TEST_CASE(a_client_sees_only_threads_bound_to_their_identity, Fixture) {
  auto store = open();
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    auto b = whole_message("m" + n);
    b.messages[0].meta->thread_id = "t" + n;
    b.threads.push_back(thread("t" + n, "neuvonta", i == 1 ? bob : alice));
    BOOST_TEST_REQUIRE(store->commit(b).ok());
    clock.advance(1s);
  }
  auto mine = store->threads_for_identity(alice, 10);
  BOOST_TEST_REQUIRE(mine.ok());
  BOOST_TEST_REQUIRE(mine->size() == 2u);
  BOOST_TEST((*mine)[0].id == "t2");  // newest first
  BOOST_TEST((*mine)[1].id == "t0");
  BOOST_TEST(store->threads_for_identity(alice, 1)->size() == 1u);
  BOOST_TEST(store->threads_for_identity(bob, 10)->size() == 1u);
  BOOST_TEST(store->threads_for_identity(Bytes{3, 3, 3, 3}, 10)->empty());
  // No identity never matches the threads started without one.
  auto anonymous = whole_message("m9");
  anonymous.threads.push_back(thread("t9", "neuvonta", {}));
  BOOST_TEST_REQUIRE(store->commit(anonymous).ok());
  BOOST_TEST(store->threads_for_identity({}, 10)->empty());
  BOOST_TEST((*store->find_thread("t9"))->client_identity.empty());
}

BOOST_FIXTURE_TEST_CASE(a_thread_lists_its_messages_but_not_notifications, Fixture) {
  auto store = open();
  auto b = whole_message("m1");
  b.messages[0].meta->thread_id = "t1";
  b.threads.push_back(thread("t1", "neuvonta", alice));
  auto note = whole_message("n1");
  note.messages[0].meta->thread_id = "t1";
  note.messages[0].meta->kind = MessageKind::notification;
  b.messages.push_back(std::move(note.messages[0]));
  BOOST_TEST_REQUIRE(store->commit(b).ok());
  clock.advance(1s);
  auto reply = whole_message("m2");
  reply.messages[0].meta->thread_id = "t1";
  BOOST_TEST_REQUIRE(store->commit(reply).ok());
  auto other = whole_message("m3");  // thread t-m3
  BOOST_TEST_REQUIRE(store->commit(other).ok());

  auto messages = store->thread_messages("t1", 10);
  BOOST_TEST_REQUIRE(messages.ok());
  std::vector<std::string> ids;
  for (const auto& m : *messages) ids.push_back(m.id);
  BOOST_TEST(ids == (std::vector<std::string>{"m1", "m2"}), boost::test_tools::per_element());
  BOOST_TEST(store->thread_messages("t1", 1)->size() == 1u);
  BOOST_TEST(store->thread_messages("none", 10)->empty());
}

BOOST_FIXTURE_TEST_CASE(a_thread_closes_once_and_is_audited, Fixture) {
  auto store = open();
  auto b = whole_message("m1");
  b.threads.push_back(thread("t1", "neuvonta", alice));
  BOOST_TEST_REQUIRE(store->commit(b).ok());
  BOOST_TEST(*store->set_thread_state("t1", ThreadState::open, ThreadState::closed, {event("thread.closed", "")}));
  BOOST_TEST(!*store->set_thread_state("t1", ThreadState::open, ThreadState::closed, {event("thread.closed", "")}));
  BOOST_TEST(!*store->set_thread_state("nope", ThreadState::open, ThreadState::closed, {event("thread.closed", "")}));
  BOOST_TEST(((*store->find_thread("t1"))->state == ThreadState::closed));
  const auto events = audit_events(*store);
  BOOST_TEST(std::count(events.begin(), events.end(), "thread.closed:ok") == 1);
}

BOOST_FIXTURE_TEST_CASE(the_first_member_claims_and_others_see_who, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  BOOST_TEST(!store->find_claim("m1")->has_value());

  auto first = store->claim(claim_by("m1", "staff-a", "Anna.A@Intra.Example.fi"), {event("claim.taken", "m1", "staff:staff-a")});
  BOOST_TEST_REQUIRE(first.ok());
  BOOST_TEST(first->claimed);
  BOOST_TEST(first->holder.staff_subject == "staff-a");
  BOOST_TEST(first->holder.staff_email == "anna.a@intra.example.fi");  // compared case-insensitively later
  BOOST_TEST((first->holder.claimed == now()));
  clock.advance(5min);

  auto second = store->claim(claim_by("m1", "staff-b", "b@intra.example.fi"), {event("claim.taken", "m1", "staff:staff-b")});
  BOOST_TEST_REQUIRE(second.ok());
  BOOST_TEST(!second->claimed);
  BOOST_TEST(second->holder.staff_subject == "staff-a");
  BOOST_TEST(second->holder.staff_name == "Name of staff-a");
  BOOST_TEST((second->holder.claimed == now() - 5min));
  // The same member pressing again is told it is theirs, not claimed anew.
  auto again = store->claim(claim_by("m1", "staff-a", "anna.a@intra.example.fi"), {event("claim.taken", "m1")});
  BOOST_TEST(!again->claimed);
  const auto events = audit_events(*store);
  BOOST_TEST(std::count(events.begin(), events.end(), "claim.taken:ok") == 1);

  // Claims need a message and a subject.
  BOOST_TEST(!store->claim(claim_by("nope", "staff-a", "a@x"), {}).ok());
  BOOST_TEST(!store->claim(claim_by("m1", "", "a@x"), {}).ok());
}

BOOST_FIXTURE_TEST_CASE(a_lead_releases_and_reassigns_with_audit, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  BOOST_TEST(!*store->release_claim("m1", {event("claim.released", "m1", "staff:lead")}));
  BOOST_TEST(!*store->reassign_claim(claim_by("m1", "staff-b", "b@x"), {event("claim.reassigned", "m1", "staff:lead")}));
  BOOST_TEST_REQUIRE(store->claim(claim_by("m1", "staff-a", "a@x"), {}).ok());

  clock.advance(1h);
  BOOST_TEST(*store->reassign_claim(claim_by("m1", "staff-b", "B@x"), {event("claim.reassigned", "m1", "staff:lead")}));
  auto c = store->find_claim("m1");
  BOOST_TEST_REQUIRE(c->has_value());
  BOOST_TEST((*c)->staff_subject == "staff-b");
  BOOST_TEST((*c)->staff_email == "b@x");
  BOOST_TEST(((*c)->claimed == now()));

  BOOST_TEST(*store->release_claim("m1", {event("claim.released", "m1", "staff:lead")}));
  BOOST_TEST(!store->find_claim("m1")->has_value());
  // Released: the next member to press claims it.
  BOOST_TEST(store->claim(claim_by("m1", "staff-c", "c@x"), {})->claimed);

  const auto events = audit_events(*store);
  BOOST_TEST(std::count(events.begin(), events.end(), "claim.reassigned:ok") == 1);
  BOOST_TEST(std::count(events.begin(), events.end(), "claim.released:ok") == 1);
}

BOOST_FIXTURE_TEST_CASE(retention_removes_threads_claims_and_staff_members_that_outlived_their_messages, Fixture) {
  auto store = open();
  auto first = whole_message("m1");
  first.messages[0].meta->thread_id = "t1";
  first.threads.push_back(thread("t1", "neuvonta", alice, "client@example.com"));
  BOOST_TEST_REQUIRE(store->commit(first).ok());
  auto second = whole_message("m2");
  second.messages[0].meta->thread_id = "t1";
  BOOST_TEST_REQUIRE(store->commit(second).ok());
  auto other = whole_message("m3");
  other.messages[0].meta->thread_id = "t2";
  other.threads.push_back(thread("t2", "neuvonta", bob));
  BOOST_TEST_REQUIRE(store->commit(other).ok());
  BOOST_TEST_REQUIRE(store->claim(claim_by("m1", "staff-a", "a@x"), {}).ok());
  BOOST_TEST_REQUIRE(store->claim(claim_by("m3", "staff-a", "a@x"), {}).ok());
  BOOST_TEST_REQUIRE(store->upsert_staff_member({"staff-a", "Anna", "a@x", {"g"}, {}}).ok());
  clock.advance(2h);
  BOOST_TEST_REQUIRE(store->upsert_staff_member({"staff-b", "Bert", "b@x", {"g"}, {}}).ok());

  // Nothing shredded, nobody seen too long ago: nothing goes.
  auto none = store->purge_conversations(now() - 3h);
  BOOST_TEST_REQUIRE(none.ok());
  BOOST_TEST(none->claims == 0u);
  BOOST_TEST(none->threads == 0u);
  BOOST_TEST(none->staff_members == 0u);

  // One of t1's two messages shredded: its claim goes, the thread stays for the other message.
  BOOST_TEST_REQUIRE(*store->shred("m1", ShredReason::expired, "system"));
  auto some = store->purge_conversations(now() - 1h);
  BOOST_TEST_REQUIRE(some.ok());
  BOOST_TEST(some->claims == 1u);
  BOOST_TEST(some->threads == 0u);
  BOOST_TEST(some->staff_members == 1u);  // staff-a, last seen 2 h ago
  BOOST_TEST(!store->find_claim("m1")->has_value());
  BOOST_TEST(store->find_claim("m3")->has_value());
  BOOST_TEST(store->find_thread("t1")->has_value());
  BOOST_TEST(!store->find_staff_member("staff-a")->has_value());
  BOOST_TEST(store->find_staff_member("staff-b")->has_value());

  // The last one shredded (or revoked): the thread, its identity key and address go with it.
  BOOST_TEST_REQUIRE(*store->revoke("m2", "admin"));
  auto rest = store->purge_conversations(now() - 1h);
  BOOST_TEST_REQUIRE(rest.ok());
  BOOST_TEST(rest->threads == 1u);
  BOOST_TEST(!store->find_thread("t1")->has_value());
  BOOST_TEST(store->threads_for_identity(alice, 10)->empty());
  BOOST_TEST(store->find_thread("t2")->has_value());
}

BOOST_AUTO_TEST_SUITE_END()
