// Fuzz target: the content detectors on arbitrary text (gateway/routing/): identity codes, IBANs
// and a keyword detector. Decoded message text of any shape reaches them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/routing/detectors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const auto keywords = sinetti::routing::PatternDetector::keywords({"henkilötunnus", "diagnoosi"}, false);
  for (const auto& span : sinetti::routing::find_identity_codes(text)) {
    if (span.offset + span.length > size) __builtin_trap();
  }
  for (const auto& span : sinetti::routing::find_ibans(text)) {
    if (span.offset + span.length > size) __builtin_trap();
  }
  if (keywords) (void)(*keywords)->scan(text);
  return 0;
}
