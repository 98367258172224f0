// Phone numbers for SMS unlock: normalises what staff write (0401234567, +358 40 123 4567,
// 00358401234567) to E.164 (ITU-T E.164: '+', country code, subscriber number, at most 15 digits).
// Untrusted input: address suffixes and X-Sinetti-Sms headers of incoming mail.
#pragma once

#include <string>
#include <string_view>

#include "sinetti/result.hpp"

namespace sinetti::sms {

// `default_country` (digits, e.g. "358") replaces a single leading national trunk '0'.
// Spaces, hyphens, dots and parentheses between digits are ignored.
Result<std::string> normalize_phone(std::string_view input, std::string_view default_country = "358");

// "+358401234567" → "••••••••••67": only the last two digits are shown (portal, logs for operators).
std::string mask_phone(std::string_view e164);

}  // namespace sinetti::sms
