// Fuzz target: configuration loading, routing compilation and the SMS driver's checks on arbitrary
// YAML text (config/, gateway/routing/, sms/) — what check-config runs. Operators' files are trusted-ish, but a crash in check-config is still a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "gateway/routing/table.hpp"
#include "sms/http_sender.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = sinetti::config::load_string(text, "fuzz.yaml", sinetti::config::LoadOptions{false});
  if (loaded.config) {
    std::vector<sinetti::config::Diagnostic> errors;
    (void)sinetti::routing::RoutingTable::compile(loaded.config, errors);
    if (loaded.config->sms.http) (void)sinetti::sms::validate(*loaded.config->sms.http);
  }
  return 0;
}
