// Per-language formatting of what notifications and pages show: dates, the masked tail of a phone
// number. No untrusted input.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace sinetti::i18n {

// A calendar date in the gateway's local time zone: "31.12.2026" (fi, sv), "31 December 2026" (en).
std::string format_date(std::chrono::system_clock::time_point t, config::Language language);

// The last two digits of a phone number, for "the number ending in 67"; "" if it has fewer than 4.
std::string phone_tail(std::string_view e164);

}  // namespace sinetti::i18n
