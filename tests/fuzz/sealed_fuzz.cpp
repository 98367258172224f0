// Fuzz target: what crypto/ reads back from storage — a sealed blob opened by StreamOpener (fed in
// two pieces at a split chosen by the first byte) under a fixed data key, the blob header, a
// wrapped key's KEK id, and strict base64url decoding (which must round-trip whatever it accepts).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/key_ring.hpp"
#include "crypto/primitives.hpp"
#include "crypto/sealed_stream.hpp"

namespace {

using namespace sinetti::crypto;

// The key the seed corpus (tests/data/sealed) was sealed with, message id "fuzz-message".
const DataKey& fuzz_key() {
  static const DataKey key = [] {
    DataKeyId id{};
    Bytes bytes(data_key_size);
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xa0 + i);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i);
    return std::move(DataKey::from_bytes(id, bytes).value());
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView blob(data + 1, size - 1);
  const std::size_t split = blob.empty() ? 0 : (data[0] * blob.size()) / 255;

  StreamOpener opener(fuzz_key(), "fuzz-message");
  std::size_t released = 0;
  auto count = [&](ByteView plain) { released += plain.size(); };
  auto first = opener.update(blob.first(split), count);
  auto second = opener.update(blob.subspan(split), count);
  auto done = opener.finish(count);
  // A blob that opens has exactly the size its plaintext implies; a failed opener stays failed.
  if (done.ok() && sealed_size(released) != blob.size()) __builtin_trap();
  if (!first.ok() && (second.ok() || done.ok())) __builtin_trap();

  (void)parse_sealed_header(blob);
  (void)wrapped_key_kek(blob);

  const std::string_view text(reinterpret_cast<const char*>(blob.data()), blob.size());
  if (const auto decoded = base64url_decode(text); decoded.ok() && base64url_encode(*decoded) != text) __builtin_trap();
  return 0;
}
