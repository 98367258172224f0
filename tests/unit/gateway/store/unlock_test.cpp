// Read links, PIN challenges and their limits, device bindings, portal sessions.
#include "store_fixture.hpp"

using namespace store_test;

namespace {

PinChallenge challenge(const std::string& id, const Fixture& f, std::uint8_t mac = 0x11) {
  return pin(id, "m1", hash_of(1), Bytes(32, mac), f.now() + 10min);
}

std::vector<AuditRecord> audit_of(Store& s) {
  std::vector<AuditRecord> out;
  (void)s.export_audit(0, [&](const AuditRecord& r) { out.push_back(r); return true; });
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_unlock)

BOOST_FIXTURE_TEST_CASE(tokens_are_found_by_hash_and_revoked, Fixture) {
  auto store = open();
  auto b = whole_message("m1");
  b.tokens.push_back(token(hash_of(1), "m1", "client@example.com", now() + 24h));
  b.tokens.push_back(token(hash_of(2), "m1", "other@example.org", now() + 48h, TokenPurpose::reply, 1));
  BOOST_TEST_REQUIRE(store->commit(b).ok());
  auto t = store->find_token(hash_of(2));
  BOOST_TEST_REQUIRE(t->has_value());
  BOOST_TEST((*t)->message_id == "m1");
  BOOST_TEST((*t)->recipient == "other@example.org");
  BOOST_TEST((*t)->recipient_index == 1u);
  BOOST_TEST(((*t)->purpose == TokenPurpose::reply));
  BOOST_TEST(((*t)->expires == now() + 48h));
  BOOST_TEST(((*t)->created == now()));
  BOOST_TEST(!(*t)->revoked.has_value());
  BOOST_TEST(!store->find_token(hash_of(3))->has_value());

  BOOST_TEST(*store->revoke_token(hash_of(1), {event("token.revoked", "m1", "admin", "ok")}) == 1u);
  BOOST_TEST(*store->revoke_token(hash_of(1), {}) == 0u);
  BOOST_TEST(((*store->find_token(hash_of(1)))->revoked == std::optional<Timestamp>(now())));
  BOOST_TEST(*store->revoke_tokens("m1", {}) == 1u);
  BOOST_TEST((*store->find_token(hash_of(2)))->revoked.has_value());

  BOOST_TEST(store->add_tokens({token(hash_of(4), "m1", "x@example.com", now() + 1h, TokenPurpose::device)}, {}).ok());
  BOOST_TEST(!store->add_tokens({token(hash_of(4), "m1", "x@example.com", now())}, {}).ok());  // hash taken
  BOOST_TEST(!store->add_tokens({token(hash_of(5), "nope", "x@example.com", now())}, {}).ok());  // no message
}

BOOST_FIXTURE_TEST_CASE(a_pin_is_single_use_and_attempt_limited, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  const PinLimits limits{.max_attempts = 3, .max_per_hour = 5, .max_failures = 100};
  BOOST_TEST_REQUIRE(*store->issue_pin_challenge(challenge("c1", *this), limits, "client") == PinIssue::issued);
  auto open_one = store->find_open_pin_challenge(hash_of(1));
  BOOST_TEST_REQUIRE(open_one->has_value());
  BOOST_TEST((*open_one)->id == "c1");
  BOOST_TEST((*open_one)->attempts == 0u);

  auto a = store->attempt_pin("c1", Bytes(32, 0x22), limits, "client");
  BOOST_TEST_REQUIRE(a.ok());
  BOOST_TEST((a->verdict == PinVerdict::wrong));
  BOOST_TEST(a->attempts_left == 2u);
  BOOST_TEST(a->failures == 1u);
  a = store->attempt_pin("c1", Bytes(31, 0x11), limits, "client");  // a shorter MAC never matches
  BOOST_TEST((a->verdict == PinVerdict::wrong));
  a = store->attempt_pin("c1", Bytes(32, 0x11), limits, "client");
  BOOST_TEST((a->verdict == PinVerdict::accepted));
  BOOST_TEST(a->attempts_left == 0u);
  a = store->attempt_pin("c1", Bytes(32, 0x11), limits, "client");
  BOOST_TEST((a->verdict == PinVerdict::consumed));
  BOOST_TEST(!store->find_open_pin_challenge(hash_of(1))->has_value());
  BOOST_TEST(!store->issue_pin_challenge(challenge("c1", *this), limits, "client").ok());  // an id is used once

  BOOST_TEST_REQUIRE(*store->issue_pin_challenge(challenge("c2", *this), limits, "client") == PinIssue::issued);
  for (int i = 0; i < 3; ++i) BOOST_TEST((store->attempt_pin("c2", Bytes(32, 0), limits, "client")->verdict == PinVerdict::wrong));
  a = store->attempt_pin("c2", Bytes(32, 0x11), limits, "client");  // right, but too late
  BOOST_TEST((a->verdict == PinVerdict::exhausted));
  BOOST_TEST(a->failures == 5u);

  BOOST_TEST((store->attempt_pin("nope", Bytes(32, 0x11), limits, "client")->verdict == PinVerdict::not_found));

  // Every attempt is in the audit log with its outcome.
  const auto audit = audit_of(*store);
  std::vector<std::string> outcomes;
  for (const auto& r : audit) {
    if (r.event == "unlock.pin") outcomes.push_back(r.outcome);
  }
  BOOST_TEST(outcomes == (std::vector<std::string>{"wrong", "wrong", "accepted", "consumed", "wrong", "wrong", "wrong",
                                                    "exhausted", "not_found"}));
}

BOOST_FIXTURE_TEST_CASE(a_pin_expires_and_a_newer_one_replaces_it, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  const PinLimits limits;
  BOOST_TEST_REQUIRE(*store->issue_pin_challenge(challenge("c1", *this), limits, "client") == PinIssue::issued);
  clock.advance(1min);
  BOOST_TEST_REQUIRE(*store->issue_pin_challenge(challenge("c2", *this, 0x33), limits, "client") == PinIssue::issued);
  BOOST_TEST((*store->find_open_pin_challenge(hash_of(1)))->id == "c2");
  BOOST_TEST((store->attempt_pin("c1", Bytes(32, 0x11), limits, "client")->verdict == PinVerdict::expired));
  clock.advance(10min);
  BOOST_TEST(!store->find_open_pin_challenge(hash_of(1))->has_value());
  BOOST_TEST((store->attempt_pin("c2", Bytes(32, 0x33), limits, "client")->verdict == PinVerdict::expired));
}

BOOST_FIXTURE_TEST_CASE(pins_per_hour_are_limited, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  const PinLimits limits{.max_attempts = 5, .max_per_hour = 3, .max_failures = 100};
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(*store->issue_pin_challenge(challenge("c" + std::to_string(i), *this), limits, "client") == PinIssue::issued);
    clock.advance(1min);
  }
  BOOST_TEST(*store->issue_pin_challenge(challenge("c3", *this), limits, "client") == PinIssue::rate_limited);
  BOOST_TEST((*store->find_open_pin_challenge(hash_of(1)))->id == "c2");  // the refused one was not stored
  BOOST_TEST(store->pin_counters("m1")->issued_last_hour == 3u);
  clock.advance(57min + 30s);  // the first is now more than an hour old, the second not yet
  BOOST_TEST(store->pin_counters("m1")->issued_last_hour == 2u);
  BOOST_TEST(*store->issue_pin_challenge(challenge("c4", *this), limits, "client") == PinIssue::issued);
  BOOST_TEST(*store->issue_pin_challenge(challenge("c5", *this), limits, "client") == PinIssue::rate_limited);
}

BOOST_FIXTURE_TEST_CASE(too_many_failures_lock_the_message, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  const PinLimits limits{.max_attempts = 2, .max_per_hour = 100, .max_failures = 5};
  for (int i = 0; i < 3; ++i) {
    const auto id = "c" + std::to_string(i);
    BOOST_TEST_REQUIRE(*store->issue_pin_challenge(challenge(id, *this), limits, "client") == PinIssue::issued);
    (void)store->attempt_pin(id, Bytes(32, 0), limits, "client");
    if (i < 2) (void)store->attempt_pin(id, Bytes(32, 0), limits, "client");
  }
  BOOST_TEST(store->pin_counters("m1")->failures == 5u);
  BOOST_TEST(((*store->find_message("m1"))->state == MessageState::locked));
  BOOST_TEST((store->attempt_pin("c2", Bytes(32, 0x11), limits, "client")->verdict == PinVerdict::locked));
  BOOST_TEST(*store->issue_pin_challenge(challenge("c9", *this), limits, "client") == PinIssue::locked);
  BOOST_TEST((*store->find_message("m1"))->pin_failures == 5u);
}

BOOST_FIXTURE_TEST_CASE(pins_for_unknown_or_shredded_messages_are_refused, Fixture) {
  auto store = open();
  BOOST_TEST(!store->issue_pin_challenge(challenge("c1", *this), {}, "client").ok());
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  BOOST_TEST_REQUIRE(*store->issue_pin_challenge(challenge("c1", *this), {}, "client") == PinIssue::issued);
  BOOST_TEST_REQUIRE(*store->shred("m1", ShredReason::revoked, "staff"));
  BOOST_TEST(!store->issue_pin_challenge(challenge("c2", *this), {}, "client").ok());
  BOOST_TEST((store->attempt_pin("c1", Bytes(32, 0x11), {}, "client")->verdict == PinVerdict::not_found));
}

BOOST_FIXTURE_TEST_CASE(devices_are_bound_to_a_read_link, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  BOOST_TEST(!*store->is_device_bound(hash_of(1), hash_of(2)));
  BOOST_TEST(*store->bind_device(device(hash_of(1), hash_of(2), "m1"),
                                 {event("unlock.device", "m1", "client", "ok")}));
  BOOST_TEST(!*store->bind_device(device(hash_of(1), hash_of(2), "m1"), {}));
  BOOST_TEST(*store->is_device_bound(hash_of(1), hash_of(2)));
  BOOST_TEST(!*store->is_device_bound(hash_of(1), hash_of(3)));
  BOOST_TEST(!*store->is_device_bound(hash_of(4), hash_of(2)));
  // A second device for the same link is refused; the same device elsewhere is fine.
  BOOST_TEST(!*store->bind_device(device(hash_of(1), hash_of(3), "m1"), {event("unlock.device", "m1", "client", "ok")}));
  BOOST_TEST(!*store->is_device_bound(hash_of(1), hash_of(3)));
  BOOST_TEST(*store->bind_device(device(hash_of(4), hash_of(2), "m1"), {}));
  BOOST_TEST(store->audit_head()->seq == 2u);  // stored + the one new binding with an audit record
}

BOOST_FIXTURE_TEST_CASE(sessions_live_until_their_absolute_expiry_or_idle_purge, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->put_session(session(hash_of(1), {1, 2, 3}, now() + 12h)).ok());
  BOOST_TEST(!store->put_session(session(hash_of(1), {}, now() + 1h)).ok());
  BOOST_TEST_REQUIRE(store->put_session(session(hash_of(2), {}, now() + 12h)).ok());
  auto s = store->find_session(hash_of(1));
  BOOST_TEST_REQUIRE(s->has_value());
  BOOST_TEST(((*s)->data == Bytes{1, 2, 3}));
  BOOST_TEST(((*s)->created == now()));
  BOOST_TEST(((*s)->last_seen == now()));

  clock.advance(20min);
  BOOST_TEST(*store->touch_session(hash_of(1), Bytes{4}));
  BOOST_TEST(!*store->touch_session(hash_of(9), std::nullopt));
  s = store->find_session(hash_of(1));
  BOOST_TEST(((*s)->data == Bytes{4}));
  BOOST_TEST(((*s)->last_seen == now()));
  BOOST_TEST(((*s)->created == now() - 20min));

  // Idle for 30 minutes: session 2 (last seen 20 min ago) stays, 40 minutes: it goes.
  BOOST_TEST(*store->purge_sessions(now(), now() - 30min) == 0u);
  clock.advance(20min);
  BOOST_TEST(*store->purge_sessions(now(), now() - 30min) == 1u);
  BOOST_TEST(!store->find_session(hash_of(2))->has_value());

  clock.advance(12h);  // past the absolute expiry
  BOOST_TEST(!store->find_session(hash_of(1))->has_value());
  BOOST_TEST(*store->purge_sessions(now(), Timestamp{}) == 1u);

  BOOST_TEST_REQUIRE(store->put_session(session(hash_of(3), {}, now() + 1h)).ok());
  BOOST_TEST(*store->delete_session(hash_of(3)));
  BOOST_TEST(!*store->delete_session(hash_of(3)));
}

BOOST_FIXTURE_TEST_CASE(a_session_is_replaced_by_a_new_id_in_one_transaction, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->put_session(session(hash_of(1), {1}, now() + 12h)).ok());
  BOOST_TEST_REQUIRE(store->put_session(session(hash_of(3), {3}, now() + 12h)).ok());
  auto fresh = session(hash_of(2), {2}, now() + 12h);
  fresh.identity = Bytes{7};
  BOOST_TEST_REQUIRE(store->replace_session(hash_of(1), fresh).ok());
  BOOST_TEST(!store->find_session(hash_of(1))->has_value());
  auto s = store->find_session(hash_of(2));
  BOOST_TEST_REQUIRE(s->has_value());
  BOOST_TEST(((*s)->data == Bytes{2}));
  BOOST_TEST((*(*s)->identity == Bytes{7}));
  // The new id taken already: nothing changes, the old session is still there.
  BOOST_TEST(!store->replace_session(hash_of(2), session(hash_of(3), {9}, now() + 12h)).ok());
  BOOST_TEST(store->find_session(hash_of(2))->has_value());
  BOOST_TEST(((*store->find_session(hash_of(3)))->data == Bytes{3}));
  // The old one gone already (a concurrent rotation): the new one is still created.
  BOOST_TEST(store->replace_session(hash_of(1), session(hash_of(4), {4}, now() + 12h)).ok());
  BOOST_TEST(store->find_session(hash_of(4))->has_value());
}

BOOST_FIXTURE_TEST_CASE(a_session_keeps_its_verified_identity_beside_its_data, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->put_session(session(hash_of(1), {1}, now() + 12h)).ok());
  BOOST_TEST(!(*store->find_session(hash_of(1)))->identity.has_value());
  BOOST_TEST(*store->set_session_identity(hash_of(1), Bytes{7, 8}));
  BOOST_TEST(!*store->set_session_identity(hash_of(9), Bytes{7}));
  auto s = store->find_session(hash_of(1));
  BOOST_TEST_REQUIRE((*s)->identity.has_value());
  BOOST_TEST((*(*s)->identity == Bytes{7, 8}));
  BOOST_TEST(((*s)->data == Bytes{1}));  // data untouched
  auto with = session(hash_of(2), {}, now() + 12h);
  with.identity = Bytes{9};
  BOOST_TEST_REQUIRE(store->put_session(with).ok());
  BOOST_TEST((*(*store->find_session(hash_of(2)))->identity == Bytes{9}));
  BOOST_TEST(*store->set_session_identity(hash_of(2), std::nullopt));
  BOOST_TEST(!(*store->find_session(hash_of(2)))->identity.has_value());
}

BOOST_FIXTURE_TEST_CASE(single_use_values_are_refused_the_second_time_until_purged, Fixture) {
  auto store = open();
  BOOST_TEST(*store->use_once(OnceKind::code, hash_of(1), now() + 1h));
  BOOST_TEST(!*store->use_once(OnceKind::code, hash_of(1), now() + 1h));
  BOOST_TEST(*store->use_once(OnceKind::nonce, hash_of(1), now() + 1h));  // another kind, another value
  BOOST_TEST(!*store->use_once(OnceKind::nonce, hash_of(1), now() + 1h));
  clock.advance(2h);
  BOOST_TEST(*store->purge_sessions(now(), now() - 30min) == 0u);
  BOOST_TEST(*store->use_once(OnceKind::code, hash_of(1), now() + 1h));  // purged after its expiry
}

BOOST_AUTO_TEST_SUITE_END()
