#include "sms/pin_text.hpp"

#include "sinetti/placeholders.hpp"

namespace sinetti::sms {

Result<std::string> render_pin_text(const config::Sms& sms, config::Language language, std::string_view pin,
                                    unsigned minutes, std::string_view organisation) {
  if (pin.empty() || pin.find_first_not_of("0123456789") != std::string_view::npos) {
    return make_error("a PIN is digits only");
  }
  const auto it = sms.text.find(language);
  if (it == sms.text.end()) return make_error(std::string("sms.text has no text for ") + config::to_string(language));
  auto parts = split_placeholders(it->second);
  if (!parts) return make_error("sms.text." + std::string(config::to_string(language)) + ": " + parts.error().message);
  std::string out;
  bool has_pin = false;
  for (const auto& part : *parts) {
    if (!part.placeholder) {
      out += part.text;
    } else if (part.text == "pin") {
      out += pin;
      has_pin = true;
    } else if (part.text == "minutes") {
      out += std::to_string(minutes);
    } else if (part.text == "organisation") {
      out += organisation;
    } else {
      return make_error("sms.text." + std::string(config::to_string(language)) + ": unknown placeholder {{" +
                        std::string(part.text) + "}}");
    }
  }
  if (!has_pin) return make_error("sms.text." + std::string(config::to_string(language)) + ": has no {{pin}}");
  return out;
}

}  // namespace sinetti::sms
