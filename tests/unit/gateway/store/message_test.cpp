// Storing messages in two steps (begin, stream, commit) or one, abort, crash leftovers, reading
// chunks, and the lifecycle: shredding, expiry, revocation, locking, rewrapping.
#include <fstream>
#include <future>
#include <iterator>
#include <thread>

#include "store_fixture.hpp"

using namespace store_test;

namespace {

bool file_contains(const std::filesystem::path& p, const Bytes& needle) {
  std::ifstream in(p, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string n(needle.begin(), needle.end());
  return data.find(n) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_messages)

BOOST_FIXTURE_TEST_CASE(begin_append_commit_stores_meta_and_chunks_in_order, Fixture) {
  auto store = open();
  auto m = meta("A1b2.c3-d4");
  m.expires = now() + std::chrono::hours(24 * 30);
  BOOST_TEST_REQUIRE(store->begin_message(m).ok());
  auto found = store->find_message(m.id);
  BOOST_TEST_REQUIRE(found.ok());
  BOOST_TEST_REQUIRE(found->has_value());
  BOOST_TEST(((*found)->state == MessageState::receiving));

  BOOST_TEST_REQUIRE(store->append_chunks(m.id, {piece(65536, 1), piece(65536, 2)}).ok());
  BOOST_TEST_REQUIRE(store->append_chunks(m.id, {piece(65536, 3)}).ok());
  clock.advance(2s);
  CommitBatch b;
  b.messages.push_back(MessageCommit{m.id, std::nullopt, {piece(100, 4)}, 196708});
  b.queue.push_back(entry(m.id, "client@example.com"));
  BOOST_TEST_REQUIRE(store->commit(b).ok());

  found = store->find_message(m.id);
  BOOST_TEST_REQUIRE(found.ok());
  const auto& got = **found;
  BOOST_TEST((got.state == MessageState::stored));
  BOOST_TEST((got.kind == MessageKind::protected_message));
  BOOST_TEST((got.protection == ProtectionLevel::sms));
  BOOST_TEST((got.unlock == m.unlock));
  BOOST_TEST(got.sender == m.sender);
  BOOST_TEST(got.recipients == m.recipients);
  BOOST_TEST(got.team_id == "neuvonta");
  BOOST_TEST(got.thread_id == m.thread_id);
  BOOST_TEST(got.language == "fi");
  BOOST_TEST(got.size == 196708u);
  BOOST_TEST(got.chunk_count == 4u);
  BOOST_TEST((got.created == epoch_2025()));
  BOOST_TEST((got.stored == std::optional<Timestamp>(epoch_2025() + 2s)));
  BOOST_TEST((got.expires == m.expires));
  BOOST_TEST((got.wrapped_key == m.wrapped_key));
  BOOST_TEST(got.kek_id == 1u);

  const auto chunks = read_all(*store, m.id);
  BOOST_TEST_REQUIRE(chunks.size() == 4u);
  BOOST_TEST((chunks[0] == piece(65536, 1)));
  BOOST_TEST((chunks[1] == piece(65536, 2)));
  BOOST_TEST((chunks[2] == piece(65536, 3)));
  BOOST_TEST((chunks[3] == piece(100, 4)));
  auto one = store->read_chunk(m.id, 2);
  BOOST_TEST_REQUIRE(one.ok());
  BOOST_TEST((**one == piece(65536, 3)));
  auto past = store->read_chunk(m.id, 4);
  BOOST_TEST_REQUIRE(past.ok());
  BOOST_TEST(!past->has_value());

  auto entry = store->find_queue_entry(m.id + ".1");
  BOOST_TEST_REQUIRE(entry.ok());
  BOOST_TEST_REQUIRE(entry->has_value());
  BOOST_TEST(((*entry)->state == QueueState::queued));
  BOOST_TEST(((*entry)->next_attempt == std::optional<Timestamp>(epoch_2025() + 2s)));
}

BOOST_FIXTURE_TEST_CASE(for_each_chunk_stops_when_asked, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1", 5)).ok());
  std::uint32_t seen = 0;
  auto n = store->for_each_chunk("m1", [&](std::uint32_t, std::span<const std::uint8_t>) { return ++seen < 2; });
  BOOST_TEST_REQUIRE(n.ok());
  BOOST_TEST(*n == 2u);
  BOOST_TEST(seen == 2u);
}

BOOST_FIXTURE_TEST_CASE(commit_replaces_meta_decided_after_data, Fixture) {
  auto store = open();
  auto m = meta("spool1", MessageKind::spool);
  BOOST_TEST_REQUIRE(store->begin_message(m).ok());
  auto decided = meta("spool1", MessageKind::protected_message);
  decided.recipients = {"only@example.com"};
  decided.protection = ProtectionLevel::personal;
  decided.unlock = UnlockPolicy{UnlockKind::identity, {}, Bytes(32, 7)};
  decided.team_id.clear();
  CommitBatch b;
  b.messages.push_back(MessageCommit{"spool1", decided, {piece(10, 1)}, 10});
  BOOST_TEST_REQUIRE(store->commit(b).ok());
  auto got = store->find_message("spool1");
  BOOST_TEST_REQUIRE(got.ok());
  BOOST_TEST(((*got)->kind == MessageKind::protected_message));
  BOOST_TEST(((*got)->protection == ProtectionLevel::personal));
  BOOST_TEST(((*got)->unlock == decided.unlock));
  BOOST_TEST((*got)->recipients == std::vector<std::string>{"only@example.com"});
  BOOST_TEST((*got)->team_id.empty());
}

BOOST_FIXTURE_TEST_CASE(one_batch_commits_several_messages_entries_tokens_and_audit_together, Fixture) {
  auto store = open();
  auto b = whole_message("prot1", 3);
  auto notification = whole_message("note1", 1);
  notification.messages[0].meta->kind = MessageKind::notification;
  b.messages.push_back(std::move(notification.messages[0]));
  b.queue.push_back(entry("note1", "client@example.com", "note1.q"));
  b.tokens.push_back(token(hash_of(9), "prot1", "client@example.com", now() + 24h));
  BOOST_TEST_REQUIRE(store->commit(b).ok());
  BOOST_TEST((*store->find_message("prot1"))->chunk_count == 3u);
  BOOST_TEST(((*store->find_message("note1"))->kind == MessageKind::notification));
  BOOST_TEST(store->find_queue_entry("note1.q")->has_value());
  BOOST_TEST(store->find_token(hash_of(9))->has_value());
  BOOST_TEST(store->audit_head()->seq == 1u);

  // The same batch again: the first message already exists, so nothing of it is applied.
  auto again = b;
  again.messages[1].id = again.messages[1].meta->id = "note2";
  again.queue[0].id = "note2.q";
  again.queue[0].message_id = "note2";
  again.tokens[0].token_hash = hash_of(10);
  auto r = store->commit(again);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("prot1") != std::string::npos, r.error().message);
  BOOST_TEST(!store->find_message("note2")->has_value());
  BOOST_TEST(!store->find_queue_entry("note2.q")->has_value());
  BOOST_TEST(!store->find_token(hash_of(10))->has_value());
  BOOST_TEST(store->audit_head()->seq == 1u);
}

BOOST_FIXTURE_TEST_CASE(abort_deletes_a_receiving_message_only, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->begin_message(meta("r1")).ok());
  BOOST_TEST_REQUIRE(store->append_chunks("r1", {piece(5000, 1), piece(5000, 2)}).ok());
  BOOST_TEST_REQUIRE(store->abort("r1").ok());
  BOOST_TEST(!store->find_message("r1")->has_value());
  BOOST_TEST(*store->for_each_chunk("r1", [](auto, auto) { return true; }) == 0u);
  BOOST_TEST(store->abort("r1").ok());  // already gone

  BOOST_TEST_REQUIRE(store->commit(whole_message("s1")).ok());
  auto r = store->abort("s1");
  BOOST_TEST(!r.ok());
  BOOST_TEST(store->find_message("s1")->has_value());
}

BOOST_FIXTURE_TEST_CASE(writes_out_of_order_are_refused, Fixture) {
  auto store = open();
  BOOST_TEST(!store->append_chunks("nope", {piece(10, 1)}).ok());
  CommitBatch without_meta;
  without_meta.messages.push_back(MessageCommit{"nope", std::nullopt, {}, 0});
  BOOST_TEST(!store->commit(without_meta).ok());
  BOOST_TEST_REQUIRE(store->commit(whole_message("s1")).ok());
  BOOST_TEST(!store->commit(whole_message("s1")).ok());
  BOOST_TEST(!store->append_chunks("s1", {piece(10, 1)}).ok());
  BOOST_TEST(!store->begin_message(meta("s1")).ok());
  BOOST_TEST(!store->begin_message(meta("bad id")).ok());
  BOOST_TEST(!store->begin_message(meta(std::string(65, 'x'))).ok());
  auto no_phone = meta("p1");
  no_phone.unlock.sealed_phone.clear();
  BOOST_TEST(!store->begin_message(no_phone).ok());
  BOOST_TEST(read_all(*store, "s1").size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_piece_over_the_limit_is_refused, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->begin_message(meta("r1")).ok());
  auto r = store->append_chunks("r1", {piece(options().max_chunk_size + 1, 1)});
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("exceeds") != std::string::npos);
  BOOST_TEST(store->append_chunks("r1", {piece(options().max_chunk_size, 1)}).ok());
}

BOOST_FIXTURE_TEST_CASE(messages_left_receiving_by_a_crash_are_removed_at_open, Fixture) {
  {
    auto store = open();
    BOOST_TEST_REQUIRE(store->commit(whole_message("kept")).ok());
    BOOST_TEST_REQUIRE(store->begin_message(meta("left1")).ok());
    BOOST_TEST_REQUIRE(store->append_chunks("left1", {piece(3000, 1)}).ok());
    BOOST_TEST_REQUIRE(store->begin_message(meta("left2")).ok());
    BOOST_TEST(store->stats().removed_at_open == 0u);
  }  // closing does not finish them: to the next open they look like a crash's leftovers
  auto store = open();
  BOOST_TEST(store->stats().removed_at_open == 2u);
  BOOST_TEST(!store->find_message("left1")->has_value());
  BOOST_TEST(!store->find_message("left2")->has_value());
  BOOST_TEST(*store->for_each_chunk("left1", [](auto, auto) { return true; }) == 0u);
  BOOST_TEST(read_all(*store, "kept").size() == 2u);
  RawDb raw(db_path);
  BOOST_TEST(raw.integer("SELECT COUNT(*) FROM message_recipients WHERE message_id LIKE 'left%'") == 0);
}

BOOST_FIXTURE_TEST_CASE(a_second_opener_leaves_the_first_ones_receiving_messages_alone, Fixture) {
  auto gateway = open();
  BOOST_TEST_REQUIRE(gateway->begin_message(meta("inflight")).ok());
  {
    auto cli = open();  // e.g. `sinetti queue list` while the gateway runs
    BOOST_TEST(cli->stats().removed_at_open == 0u);
    BOOST_TEST(cli->find_message("inflight")->has_value());
  }
  BOOST_TEST(gateway->append_chunks("inflight", {piece(10, 1)}).ok());
  CommitBatch b;
  b.messages.push_back(MessageCommit{"inflight", std::nullopt, {}, 10});
  BOOST_TEST(gateway->commit(b).ok());
}

BOOST_FIXTURE_TEST_CASE(async_completion_is_called_after_commit, Fixture) {
  auto store = open();
  std::promise<Status> done;
  store->commit_async(whole_message("a1"), [&](Status s) {
    // On the writer thread: a blocking call would deadlock, so it is refused.
    BOOST_CHECK(!store->commit(whole_message("a2")).ok());
    done.set_value(std::move(s));
  });
  BOOST_TEST(done.get_future().get().ok());
  BOOST_TEST(store->find_message("a1")->has_value());
  BOOST_TEST(!store->find_message("a2")->has_value());
}

// Checkpoints are paced: a shred within checkpoint_interval of the last checkpoint leaves its key in
// the log until the interval ends, then the idle writer checkpoints without another commit.
BOOST_FIXTURE_TEST_CASE(a_shred_soon_after_a_checkpoint_is_checkpointed_when_the_interval_ends, Fixture) {
  auto o = options();
  o.checkpoint_interval = std::chrono::milliseconds(2000);
  auto store = open(o);
  const Bytes first_key(16, 0x3a);
  const Bytes second_key = {0x8d, 0x21, 0xf4, 0x6e, 0x0b, 0x97, 0xc3, 0x58, 0x1d, 0xa2, 0x7f, 0xe6, 0x44, 0x39, 0xb0, 0x05};
  for (const auto& [id, key] : {std::pair{"p1", first_key}, std::pair{"p2", second_key}}) {
    auto b = whole_message(id, 1);
    b.messages[0].meta->wrapped_key = key;
    BOOST_TEST_REQUIRE(store->commit(b).ok());
  }
  const std::string wal = db_path.string() + "-wal";
  BOOST_TEST_REQUIRE(file_contains(wal, second_key));
  BOOST_TEST_REQUIRE(*store->shred("p1", ShredReason::erased, "admin"));  // checkpointed at once
  BOOST_TEST(!file_contains(wal, second_key));
  BOOST_TEST_REQUIRE(*store->shred("p2", ShredReason::erased, "admin"));
  // The row is cleared in the log; the database file keeps the page's old copy until the checkpoint.
  const auto shredded = std::chrono::steady_clock::now();
  BOOST_TEST(file_contains(db_path, second_key));
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() - shredded < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gone = !file_contains(db_path, second_key) && !file_contains(wal, second_key);
  }
  BOOST_TEST(gone);
}

BOOST_FIXTURE_TEST_CASE(shredding_destroys_key_chunks_tokens_and_pins_and_keeps_the_row, Fixture) {
  auto store = open();
  auto b = whole_message("s1", 3);
  const Bytes key = {0x5e, 0xc7, 0x3f, 0x11, 0x9a, 0x42, 0x77, 0xd0, 0x01, 0xfe, 0x6b, 0x2c, 0x83, 0x55, 0x19, 0xe4};
  b.messages[0].meta->wrapped_key = key;
  b.queue.push_back(entry("s1", "client@example.com"));
  b.tokens.push_back(token(hash_of(1), "s1", "client@example.com", now() + 1h));
  BOOST_TEST_REQUIRE(store->commit(b).ok());
  BOOST_TEST_REQUIRE(*store->issue_pin_challenge(
      pin("c1", "s1", hash_of(1), Bytes(32, 3), now() + 10min),
      PinLimits{}, "client") == PinIssue::issued);
  BOOST_TEST_REQUIRE(*store->bind_device(device(hash_of(1), hash_of(2), "s1"), {}));
  BOOST_TEST(file_contains(db_path.string() + "-wal", key));

  clock.advance(1min);
  auto r = store->shred("s1", ShredReason::erased, "admin");
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(*r);
  auto m = store->find_message("s1");
  BOOST_TEST_REQUIRE(m->has_value());
  BOOST_TEST(((*m)->state == MessageState::shredded));
  BOOST_TEST(!(*m)->wrapped_key.has_value());
  BOOST_TEST(((*m)->shredded == std::optional<Timestamp>(epoch_2025() + 1min)));
  BOOST_TEST((*m)->shred_reason == "erased");
  BOOST_TEST((*m)->recipients.size() == 2u);  // the audit's view of the message stays
  BOOST_TEST(*store->for_each_chunk("s1", [](auto, auto) { return true; }) == 0u);
  BOOST_TEST(!store->find_token(hash_of(1))->has_value());
  BOOST_TEST(!store->find_open_pin_challenge(hash_of(1))->has_value());
  BOOST_TEST(!*store->is_device_bound(hash_of(1), hash_of(2)));
  BOOST_TEST(((*store->find_queue_entry("s1.1"))->state == QueueState::dropped));
  std::vector<AuditRecord> audit;
  (void)store->export_audit(0, [&](const AuditRecord& rec) { audit.push_back(rec); return true; });
  BOOST_TEST_REQUIRE(!audit.empty());
  BOOST_TEST(audit.back().event == "message.shredded");
  BOOST_TEST(audit.back().message_id == "s1");
  BOOST_TEST(audit.back().actor == "admin");
  BOOST_TEST(audit.back().details == "{\"reason\":\"erased\"}");
  // Nothing else was queued: the log was checkpointed and truncated right after the shred.
  BOOST_TEST(!file_contains(db_path.string() + "-wal", key));

  // No copy of the wrapped key survives in the database file or its log.
  store.reset();
  BOOST_TEST(!file_contains(db_path, key));
  if (std::filesystem::exists(db_path.string() + "-wal")) BOOST_TEST(!file_contains(db_path.string() + "-wal", key));

  store = open();
  r = store->shred("s1", ShredReason::erased, "admin");
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(!*r);  // already shredded
  BOOST_TEST(!store->shred("missing", ShredReason::erased, "admin").ok());
}

BOOST_FIXTURE_TEST_CASE(expire_shreds_only_messages_past_their_expiry, Fixture) {
  auto store = open();
  for (int i = 0; i < 5; ++i) {
    auto b = whole_message("e" + std::to_string(i));
    b.messages[0].meta->expires = now() + std::chrono::hours(i + 1);
    BOOST_TEST_REQUIRE(store->commit(b).ok());
  }
  BOOST_TEST_REQUIRE(store->commit(whole_message("forever")).ok());
  auto n = store->expire(now() + std::chrono::hours(3), 2);  // e0, e1, e2 are due; two per call
  BOOST_TEST_REQUIRE(n.ok());
  BOOST_TEST(*n == 2u);
  n = store->expire(now() + std::chrono::hours(3), 2);
  BOOST_TEST(*n == 1u);
  n = store->expire(now() + std::chrono::hours(3), 2);
  BOOST_TEST(*n == 0u);
  for (int i = 0; i < 5; ++i) {
    const auto m = *store->find_message("e" + std::to_string(i));
    BOOST_TEST(((m->state == MessageState::expired) == (i < 3)), i);
    BOOST_TEST(m->wrapped_key.has_value() == (i >= 3));
  }
  BOOST_TEST(((*store->find_message("forever"))->state == MessageState::stored));
}

BOOST_FIXTURE_TEST_CASE(revoke_and_lock, Fixture) {
  auto store = open();
  BOOST_TEST_REQUIRE(store->commit(whole_message("m1")).ok());
  BOOST_TEST_REQUIRE(store->commit(whole_message("m2")).ok());
  BOOST_TEST(*store->set_message_state("m1", MessageState::stored, MessageState::locked,
                                       {event("message.locked", "m1", "admin", "ok")}));
  BOOST_TEST(!*store->set_message_state("m1", MessageState::stored, MessageState::locked, {}));
  BOOST_TEST(((*store->find_message("m1"))->state == MessageState::locked));
  BOOST_TEST(!store->set_message_state("m1", MessageState::locked, MessageState::shredded, {}).ok());
  BOOST_TEST(*store->set_message_state("m1", MessageState::locked, MessageState::stored, {}));

  BOOST_TEST(*store->revoke("m2", "staff:anna"));
  const auto m = *store->find_message("m2");
  BOOST_TEST((m->state == MessageState::revoked));
  BOOST_TEST(m->shred_reason == "revoked");
  BOOST_TEST(!m->wrapped_key.has_value());
}

BOOST_FIXTURE_TEST_CASE(rewrap_replaces_keys_in_batches_and_never_revives_a_shredded_one, Fixture) {
  auto store = open();
  for (int i = 0; i < 5; ++i) BOOST_TEST_REQUIRE(store->commit(whole_message("k" + std::to_string(i))).ok());
  auto page = store->list_wrapped_keys("", 3, std::nullopt);
  BOOST_TEST_REQUIRE(page.ok());
  BOOST_TEST_REQUIRE(page->size() == 3u);
  BOOST_TEST((*page)[0].id == "k0");
  BOOST_TEST((*page)[2].id == "k2");
  auto rest = store->list_wrapped_keys((*page)[2].id, 3, std::nullopt);
  BOOST_TEST(rest->size() == 2u);

  BOOST_TEST_REQUIRE(*store->shred("k1", ShredReason::admin, "admin"));
  std::vector<Rewrap> keys;
  for (int i = 0; i < 5; ++i) keys.push_back(Rewrap{"k" + std::to_string(i), 1, 2, Bytes{9, 9, static_cast<std::uint8_t>(i)}});
  keys[3].old_kek_id = 7;  // stale view: not applied
  auto n = store->rewrap(keys);
  BOOST_TEST_REQUIRE(n.ok());
  BOOST_TEST(*n == 3u);
  BOOST_TEST(((*store->find_message("k0"))->wrapped_key == std::optional<Bytes>(Bytes{9, 9, 0})));
  BOOST_TEST((*store->find_message("k0"))->kek_id == 2u);
  BOOST_TEST(!(*store->find_message("k1"))->wrapped_key.has_value());
  BOOST_TEST((*store->find_message("k3"))->kek_id == 1u);
  auto left = store->list_wrapped_keys("", 10, 2u);
  BOOST_TEST_REQUIRE(left->size() == 1u);
  BOOST_TEST((*left)[0].id == "k3");
}

BOOST_AUTO_TEST_SUITE_END()
