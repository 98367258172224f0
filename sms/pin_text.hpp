// The SMS that carries a PIN: the operator's text for the recipient's language (sms.text, built-in
// defaults in fi, sv, en) with {{pin}}, {{minutes}} and {{organisation}} filled in. It never holds
// message content — only the PIN, its validity and who sends it.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "sinetti/result.hpp"

namespace sinetti::sms {

// `pin` must be digits only; `organisation` is usually instance.name. An error when the text for
// `language` is missing or has a placeholder other than the three (the configuration check prevents
// both).
Result<std::string> render_pin_text(const config::Sms& sms, config::Language language, std::string_view pin,
                                    unsigned minutes, std::string_view organisation);

}  // namespace sinetti::sms
