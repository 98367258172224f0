// A 100 MB message through the real path with flat memory (DESIGN "Decisions": streaming keeps
// memory flat for 100 MB attachments): sealed by sealed::ContentWriter into a SqliteStore piece by
// piece (begin_message, append_chunks, commit, as the ingest streams DATA), then opened through
// sealed::ContentReader with the key ring's private half, one chunk at a time, with a running
// SHA-256 on both sides, then shredded. The process's own peak resident set (VmHWM in
// /proc/self/status) may grow by well under 32 MB. Disabled in the ordinary run; CTest runs it on
// its own (unit.gateway.large_message) so that the peak belongs to this test alone.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include "crypto/key_ring.hpp"
#include "crypto/primitives.hpp"
#include "crypto/random.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "gateway/store/sqlite_store.hpp"
#include "../store/store_fixture.hpp"

using namespace sinetti;

namespace {

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"), or -1.
long status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux 4.0+, proc(5) "clear_refs": 5).
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sealed_large_message)

BOOST_AUTO_TEST_CASE(a_100_mb_message_is_stored_and_opened_with_flat_memory, *boost::unit_test::disabled()) {
  constexpr std::uint64_t total = 100'000'000;
  constexpr std::size_t slice = 256 * 1024 + 7;  // DATA arrives in pieces unrelated to the chunk size
  constexpr std::size_t flush_pieces = 16;       // about 1 MiB of sealed pieces per append_chunks, as ingest

  store_test::Fixture f;
  SystemClock clock;
  const auto keys = f.dir.path() / "keys";
  BOOST_REQUIRE(crypto::KeyRing::init(keys, clock).ok());
  auto sealing = crypto::KeyRing::load(keys, crypto::Access::seal);
  auto opening = crypto::KeyRing::load(keys, crypto::Access::open);
  BOOST_REQUIRE(sealing.ok() && opening.ok());
  store::SqliteOptions options;
  options.path = f.db_path;  // the product's defaults otherwise (reader pool, group commit)
  auto store = f.open(options);

  std::string data(slice, '\0');
  crypto::random_bytes(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(data.data()), data.size()));

  const bool reset = reset_peak_rss();
  const long rss_before = status_kb("VmRSS");
  const long hwm_before = status_kb("VmHWM");
  BOOST_REQUIRE(rss_before > 0);

  // ---- seal into the store ----
  const std::string id = "large-100mb";
  const auto key = crypto::DataKey::generate();
  store::MessageMeta meta;
  meta.id = id;
  meta.kind = store::MessageKind::spool;
  meta.sender = "sender@example.com";
  meta.recipients = {"team@example.fi"};
  BOOST_REQUIRE(store->begin_message(meta).ok());
  const auto seal_started = std::chrono::steady_clock::now();
  crypto::Sha256 sent;
  sealed::ContentWriter writer(key, id);
  std::vector<store::Chunk> pieces;
  std::size_t appended = 0;
  for (std::uint64_t done = 0; done < total;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(slice, total - done));
    // Different content everywhere: the offset in the first bytes of every slice.
    for (std::size_t i = 0; i < 8; ++i) data[i] = static_cast<char>(done >> (8 * i));
    const std::string_view piece(data.data(), n);
    sent.update(crypto::as_bytes(piece));
    writer.update(piece, pieces);
    done += n;
    if (pieces.size() >= flush_pieces) {
      appended += pieces.size();
      BOOST_REQUIRE(store->append_chunks(id, std::move(pieces)).ok());
      pieces.clear();
    }
  }
  writer.finish(pieces);
  appended += pieces.size();
  meta.wrapped_key = sealing->wrap(key, id);
  meta.kek_id = sealing->active_kek();
  meta.size = total;
  store::CommitBatch batch;
  batch.messages.push_back(store::MessageCommit{id, meta, std::move(pieces), total});
  BOOST_REQUIRE(store->commit(std::move(batch)).ok());
  const double seal_s = seconds_since(seal_started);
  BOOST_TEST(appended == sealed::piece_count(total));
  BOOST_TEST(writer.plaintext_size() == total);

  // ---- open from the store ----
  const auto open_started = std::chrono::steady_clock::now();
  auto stored = store->find_message(id);
  BOOST_REQUIRE(stored.ok() && stored->has_value());
  BOOST_TEST((**stored).chunk_count == sealed::piece_count(total));
  auto reader = sealed::ContentReader::open(*store, **stored, *opening);
  BOOST_REQUIRE_MESSAGE(reader.ok(), (reader.ok() ? "" : reader.error().message));
  crypto::Sha256 received;
  std::uint64_t released = 0;
  for (;;) {
    auto chunk = (*reader)->next();
    BOOST_REQUIRE_MESSAGE(chunk.ok(), (chunk.ok() ? "" : chunk.error().message));
    if (chunk->empty()) break;
    released += chunk->size();
    received.update(crypto::as_bytes(*chunk));
  }
  const double open_s = seconds_since(open_started);
  BOOST_TEST(released == total);
  BOOST_TEST((sent.finish() == received.finish()));
  reader->reset();

  // ---- shred: the key and every chunk go, in one savepoint of the writer ----
  auto shredded = store->shred(id, store::ShredReason::erased, "admin");
  BOOST_REQUIRE_MESSAGE(shredded.ok(), (shredded.ok() ? "" : shredded.error().message));
  BOOST_TEST(*shredded);
  BOOST_TEST(*store->for_each_chunk(id, [](auto, auto) { return true; }) == 0u);

  const long hwm_after = status_kb("VmHWM");
  const long base = reset ? rss_before : std::min(rss_before, hwm_before);
  const long growth_kb = hwm_after - base;
  BOOST_TEST_MESSAGE("100 MB sealed into SqliteStore (" << appended << " pieces, " << seal_s << " s), opened ("
                                                        << open_s << " s) and shredded: peak RSS grew by " << growth_kb
                                                        << " kB (baseline " << base << " kB, peak " << hwm_after
                                                        << " kB" << (reset ? "" : ", peak not reset") << ")");
  BOOST_TEST(growth_kb < 32 * 1024);
}

BOOST_AUTO_TEST_SUITE_END()
