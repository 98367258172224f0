// Memory stays flat: 100 MB sealed and opened through the streaming API (sealer output fed straight
// to the opener) grows the peak resident set by far less than the message.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>

#include "crypto/primitives.hpp"
#include "crypto/random.hpp"
#include "crypto/sealed_stream.hpp"
#include "test_support.hpp"

using namespace sinetti::crypto;

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

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_sealed_stream_memory)

BOOST_AUTO_TEST_CASE(seal_and_open_100_mb_with_flat_memory) {
  constexpr std::size_t total = 100'000'000;
  constexpr std::size_t piece_size = 1'000'003;  // not a multiple of the chunk size
  const DataKey key = DataKey::generate();
  Bytes piece(piece_size);
  random_bytes(piece);

  const bool reset = reset_peak_rss();
  const long rss_before = status_kb("VmRSS");
  const long hwm_before = status_kb("VmHWM");
  BOOST_REQUIRE(rss_before > 0);

  Sha256 input_hash, output_hash;
  std::uint64_t released = 0;
  bool open_ok = true;
  StreamSealer sealer(key, "big-message");
  StreamOpener opener(key, "big-message");
  auto to_output = [&](ByteView plain) {
    output_hash.update(plain);
    released += plain.size();
  };
  auto to_opener = [&](ByteView sealed) {
    if (open_ok) open_ok = opener.update(sealed, to_output).ok();
  };
  to_opener(sealer.header());
  for (std::size_t done = 0, n = 0; done < total; done += n) {
    n = std::min(piece_size, total - done);
    // Different content for every piece: its offset in the first bytes.
    for (std::size_t i = 0; i < 8; ++i) piece[i] = static_cast<std::uint8_t>(done >> (8 * i));
    const ByteView plain(piece.data(), n);
    input_hash.update(plain);
    sealer.update(plain, to_opener);
  }
  sealer.finish(to_opener);
  BOOST_REQUIRE(open_ok);
  BOOST_REQUIRE(opener.finish(to_output).ok());
  BOOST_TEST(released == total);
  BOOST_TEST((input_hash.finish() == output_hash.finish()));

  const long hwm_after = status_kb("VmHWM");
  // Without the reset, measure against the older peak or the RSS, whichever is lower (conservative).
  const long base = reset ? rss_before : std::min(rss_before, hwm_before);
  const long growth_kb = hwm_after - base;
  BOOST_TEST_MESSAGE("100 MB through StreamSealer -> StreamOpener: peak RSS grew by " << growth_kb << " kB (baseline "
                                                                                        << base << " kB, peak "
                                                                                        << hwm_after << " kB"
                                                                                        << (reset ? "" : ", peak not reset")
                                                                                        << ")");
  BOOST_TEST(growth_kb < 32 * 1024);
}

BOOST_AUTO_TEST_SUITE_END()
