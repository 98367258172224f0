// Fuzz target: the MIME reader on arbitrary bytes (smtp/mime/). Every message that reaches a
// listener goes through it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/mime/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sinetti::mime::Limits limits;
  limits.max_parts = 200;
  limits.max_text_bytes = 1 << 20;
  const auto message = sinetti::mime::read_message(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (message) {
    // Touch what routing reads.
    volatile std::size_t n = message->subject.size() + message->texts.size() + message->attachments.size();
    (void)n;
  }
  return 0;
}
