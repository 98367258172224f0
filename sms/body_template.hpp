// The request body an SMS provider expects, built from the operator's template (sms.http.body):
// placeholders {{to_e164}}, {{to_digits}}, {{text}}, {{ref}}, {{sender}} inside JSON string values.
//  - format json: the template is the body; each string value has its placeholders replaced (the
//    result JSON-escaped by the serialiser). A value that is exactly "{{to_digits}}" becomes a JSON
//    number, as GatewayAPI's "msisdn" is; anywhere else a placeholder yields text.
//  - format form: the template's top-level keys become application/x-www-form-urlencoded fields, in
//    the order written; values are strings (numbers and booleans as written). No nesting.
// Input: the operator's configuration (checked here, every problem reported) and the message.
// No I/O.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "sinetti/result.hpp"

namespace sinetti::sms {

// What the placeholders stand for in one message.
struct TemplateValues {
  std::string to_e164;    // "+358401234567"
  std::string to_digits;  // "358401234567"
  std::string text;
  std::string ref;
  std::string sender;
};

struct RenderedBody {
  std::string content_type;  // "application/json" or "application/x-www-form-urlencoded"
  std::string body;
};

class BodyTemplate {
 public:
  // Every problem with the template, each as "body.PATH: what is wrong"; empty when it is usable.
  static std::vector<std::string> check(config::HttpBodyFormat format, std::string_view json_text);
  // The template ready to render, or all of check()'s problems in one message.
  static Result<BodyTemplate> compile(config::HttpBodyFormat format, std::string_view json_text);

  RenderedBody render(const TemplateValues& values) const;

  BodyTemplate(BodyTemplate&&) noexcept;
  BodyTemplate& operator=(BodyTemplate&&) noexcept;
  ~BodyTemplate();

 private:
  struct Parsed;
  explicit BodyTemplate(std::unique_ptr<Parsed> parsed);
  std::unique_ptr<Parsed> parsed_;
};

// application/x-www-form-urlencoded encoding of one name or value (WHATWG URL §5): ASCII letters,
// digits and *-._ stay, space becomes '+', every other byte %XX.
std::string form_urlencode(std::string_view text);

}  // namespace sinetti::sms
