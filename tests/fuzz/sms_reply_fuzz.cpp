// Fuzz target: what an SMS provider's reply reaches (sms/http_sender): the message id lookup at the
// example providers' pointers and the excerpt that goes into failure reasons; and, as operator
// input, the same bytes as a request body template.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sms/body_template.hpp"
#include "sms/http_sender.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (const char* pointer : {"/ids/0", "/sid", "/id", "/a~1b/~0/-"}) {
    (void)sinetti::sms::message_id_from_reply(body, pointer);
  }
  const std::string excerpt = sinetti::sms::reply_excerpt(body);
  if (excerpt.size() > 220) __builtin_trap();  // the excerpt is bounded
  for (auto format : {sinetti::config::HttpBodyFormat::json, sinetti::config::HttpBodyFormat::form}) {
    auto t = sinetti::sms::BodyTemplate::compile(format, body);
    if (t) (void)t->render({"+358401234567", "358401234567", "Koodi 123456", "ref", "Turvaposti"});
  }
  return 0;
}
