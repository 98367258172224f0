#include "gateway/i18n/format.hpp"

#include <ctime>

namespace sinetti::i18n {

std::string format_date(std::chrono::system_clock::time_point t, config::Language language) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  if (language == config::Language::en) {
    static const char* months[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};
    return std::to_string(tm.tm_mday) + " " + months[tm.tm_mon] + " " + std::to_string(tm.tm_year + 1900);
  }
  return std::to_string(tm.tm_mday) + "." + std::to_string(tm.tm_mon + 1) + "." + std::to_string(tm.tm_year + 1900);
}

std::string phone_tail(std::string_view e164) {
  std::string digits;
  for (char c : e164) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() < 4) return {};
  return digits.substr(digits.size() - 2);
}

}  // namespace sinetti::i18n
