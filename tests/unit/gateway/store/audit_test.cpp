// The audit hash chain: canonical encoding, verify (an edited, a deleted and a reordered record
// are each found, by their sequence number), export, and retention purge behind a checkpoint.
#include "gateway/store/audit_chain.hpp"
#include "store_fixture.hpp"

using namespace store_test;
namespace chain = sinetti::store::audit_chain;

namespace {

void append_days(Store& store, sinetti::ManualClock& clock, int n) {
  for (int i = 0; i < n; ++i) {
    auto e = event("test.event", "m" + std::to_string(i));
    e.details = "{\"n\":" + std::to_string(i) + "}";
    BOOST_TEST_REQUIRE(store.append_audit({e}).ok());
    clock.advance(24h);
  }
}

// The store's triggers refuse edits; someone with the file can drop them.
void drop_guards(RawDb& raw) {
  BOOST_TEST_REQUIRE(raw.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_purge_only;").empty());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_audit)

BOOST_AUTO_TEST_CASE(canonical_encoding_is_fixed) {
  AuditRecord r;
  r.seq = 258;
  r.at = Timestamp(std::chrono::milliseconds(1));
  r.event = "e";
  r.message_id = "";
  r.actor = "ab";
  r.outcome = "ok";
  r.details = "{}";
  const Bytes expected = {1,                       // version
                          0, 0, 0, 0, 0, 0, 1, 2,  // seq
                          0, 0, 0, 0, 0, 0, 0, 1,  // time
                          0, 0, 0, 1, 'e',         // event
                          0, 0, 0, 0,              // message id
                          0, 0, 0, 2, 'a', 'b',    // actor
                          0, 0, 0, 2, 'o', 'k',    // outcome
                          0, 0, 0, 2, '{', '}'};   // details
  BOOST_TEST(chain::canonical_encoding(r) == expected);
  // Field boundaries matter: moving a byte from one field to the next changes the hash.
  AuditRecord moved = r;
  moved.actor = "a";
  moved.outcome = "bok";
  BOOST_TEST((chain::record_hash(sha256, Hash{}, r) != chain::record_hash(sha256, Hash{}, moved)));
}

BOOST_FIXTURE_TEST_CASE(records_chain_and_export_in_order, Fixture) {
  auto store = open();
  BOOST_TEST(store->verify_audit()->ok);  // the empty chain
  append_days(*store, clock, 5);
  std::vector<AuditRecord> records;
  auto n = store->export_audit(0, [&](const AuditRecord& r) { records.push_back(r); return true; });
  BOOST_TEST_REQUIRE(*n == 5u);
  BOOST_TEST((records[0].prev_hash == Hash{}));
  for (std::size_t i = 0; i < records.size(); ++i) {
    BOOST_TEST(records[i].seq == i + 1);
    BOOST_TEST((records[i].at == epoch_2025() + std::chrono::hours(24 * static_cast<int>(i))));
    BOOST_TEST(records[i].message_id == "m" + std::to_string(i));
    BOOST_TEST((records[i].hash == chain::record_hash(sha256, records[i].prev_hash, records[i])));
    if (i > 0) BOOST_TEST((records[i].prev_hash == records[i - 1].hash));
  }
  const auto head = *store->audit_head();
  BOOST_TEST(head.seq == 5u);
  BOOST_TEST((head.hash == records.back().hash));
  const auto v = *store->verify_audit();
  BOOST_TEST(v.ok);
  BOOST_TEST(v.records == 5u);
  BOOST_TEST(v.head.seq == 5u);

  std::vector<std::uint64_t> tail;
  (void)store->export_audit(3, [&](const AuditRecord& r) { tail.push_back(r.seq); return true; });
  BOOST_TEST(tail == (std::vector<std::uint64_t>{4, 5}));
}

BOOST_FIXTURE_TEST_CASE(the_database_refuses_edits_and_early_deletes, Fixture) {
  auto store = open();
  append_days(*store, clock, 3);
  RawDb raw(db_path);
  BOOST_TEST(raw.exec("UPDATE audit_log SET outcome = 'denied' WHERE seq = 2").find("append-only") != std::string::npos);
  BOOST_TEST(raw.exec("DELETE FROM audit_log WHERE seq = 1").find("checkpoint") != std::string::npos);
  BOOST_TEST(store->verify_audit()->ok);
}

BOOST_FIXTURE_TEST_CASE(verify_names_an_edited_record, Fixture) {
  auto store = open();
  append_days(*store, clock, 8);
  RawDb raw(db_path);
  drop_guards(raw);
  BOOST_TEST_REQUIRE(raw.exec("UPDATE audit_log SET outcome = 'denied' WHERE seq = 4").empty());
  const auto v = *store->verify_audit();
  BOOST_TEST(!v.ok);
  BOOST_TEST(v.first_bad_seq.value_or(0) == 4u);
  BOOST_TEST(v.problem.find("altered") != std::string::npos, v.problem);
  BOOST_TEST(v.head.seq == 3u);
}

BOOST_FIXTURE_TEST_CASE(verify_names_an_edited_time_or_a_forged_hash, Fixture) {
  auto store = open();
  append_days(*store, clock, 6);
  RawDb raw(db_path);
  drop_guards(raw);
  BOOST_TEST_REQUIRE(raw.exec("UPDATE audit_log SET at = at + 1 WHERE seq = 6").empty());
  BOOST_TEST(store->verify_audit()->first_bad_seq.value_or(0) == 6u);
  BOOST_TEST_REQUIRE(raw.exec("UPDATE audit_log SET at = at - 1 WHERE seq = 6").empty());
  BOOST_TEST(store->verify_audit()->ok);
  // Recomputing one record's hash after editing it breaks the link to the next one.
  BOOST_TEST_REQUIRE(raw.exec("UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 2").empty());
  const auto v = *store->verify_audit();
  BOOST_TEST(v.first_bad_seq.value_or(0) == 2u);
}

BOOST_FIXTURE_TEST_CASE(verify_names_a_deleted_record, Fixture) {
  auto store = open();
  append_days(*store, clock, 8);
  RawDb raw(db_path);
  drop_guards(raw);
  BOOST_TEST_REQUIRE(raw.exec("DELETE FROM audit_log WHERE seq = 5").empty());
  const auto v = *store->verify_audit();
  BOOST_TEST(!v.ok);
  BOOST_TEST(v.first_bad_seq.value_or(0) == 5u);
  BOOST_TEST(v.problem.find("missing") != std::string::npos, v.problem);

  // Deleting the first record is found too (no checkpoint says the chain may start later).
  BOOST_TEST_REQUIRE(raw.exec("DELETE FROM audit_log WHERE seq = 1").empty());
  BOOST_TEST(store->verify_audit()->first_bad_seq.value_or(0) == 1u);
}

BOOST_FIXTURE_TEST_CASE(verify_names_a_reordered_record, Fixture) {
  auto store = open();
  append_days(*store, clock, 8);
  RawDb raw(db_path);
  drop_guards(raw);
  // Swap records 3 and 6 (their sequence numbers change places).
  BOOST_TEST_REQUIRE(raw.exec("UPDATE audit_log SET seq = -1 WHERE seq = 3;"
                              "UPDATE audit_log SET seq = 3 WHERE seq = 6;"
                              "UPDATE audit_log SET seq = 6 WHERE seq = -1;")
                         .empty());
  const auto v = *store->verify_audit();
  BOOST_TEST(!v.ok);
  BOOST_TEST(v.first_bad_seq.value_or(0) == 3u);
}

BOOST_FIXTURE_TEST_CASE(retention_purge_keeps_the_chain_verifiable, Fixture) {
  auto store = open();
  append_days(*store, clock, 10);  // record i+1 at day i
  BOOST_TEST(*store->purge_audit(epoch_2025(), "system") == 0u);  // nothing older
  BOOST_TEST(!store->audit_checkpoint()->has_value());

  const auto before = *store->audit_head();
  auto purged = store->purge_audit(epoch_2025() + std::chrono::hours(24 * 4), "system");  // days 0-3
  BOOST_TEST_REQUIRE(purged.ok());
  BOOST_TEST(*purged == 4u);
  const auto checkpoint = **store->audit_checkpoint();
  BOOST_TEST(checkpoint.seq == 4u);
  std::vector<AuditRecord> records;
  (void)store->export_audit(0, [&](const AuditRecord& r) { records.push_back(r); return true; });
  BOOST_TEST_REQUIRE(records.size() == 7u);  // 5..10 and the purge record
  BOOST_TEST(records.front().seq == 5u);
  BOOST_TEST((records.front().prev_hash == checkpoint.hash));
  BOOST_TEST(records.back().seq == 11u);
  BOOST_TEST(records.back().event == "audit.purged");
  BOOST_TEST((records.back().prev_hash == before.hash));
  auto v = *store->verify_audit();
  BOOST_TEST(v.ok, v.problem);
  BOOST_TEST(v.records == 7u);

  // The chain goes on, and a second purge moves the checkpoint past the first purge record.
  append_days(*store, clock, 2);
  BOOST_TEST(*store->purge_audit(now(), "system") == 9u);  // everything up to the last record
  v = *store->verify_audit();
  BOOST_TEST(v.ok, v.problem);
  BOOST_TEST(v.records == 1u);
  BOOST_TEST((**store->audit_checkpoint()).seq == 13u);
  BOOST_TEST(store->audit_head()->seq == 14u);
  BOOST_TEST(store->append_audit({event("after", "", "system", "ok")}).ok());
  BOOST_TEST(store->verify_audit()->ok);

  // Purging by hand (deleting rows and moving the checkpoint) does not match the purge record.
  RawDb raw(db_path);
  drop_guards(raw);
  BOOST_TEST_REQUIRE(raw.exec("UPDATE audit_checkpoint SET seq = 14, hash = (SELECT hash FROM audit_log WHERE seq = 14);"
                              "DELETE FROM audit_log WHERE seq = 14;")
                         .empty());
  v = *store->verify_audit();
  BOOST_TEST(!v.ok);
  BOOST_TEST(v.first_bad_seq.value_or(0) == 15u);
  BOOST_TEST(v.problem.find("checkpoint") != std::string::npos, v.problem);
}

BOOST_AUTO_TEST_CASE(purge_details_round_trip) {
  const auto h = hash_of(0xab);
  const auto text = chain::purge_details(42, h, 7);
  const auto mark = chain::parse_purge_details(text);
  BOOST_TEST_REQUIRE(mark.has_value());
  BOOST_TEST(mark->through_seq == 42u);
  BOOST_TEST((mark->hash == h));
  BOOST_TEST(!chain::parse_purge_details("{\"through_seq\":x}").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
