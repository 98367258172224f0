#include "sms/phone.hpp"

namespace sinetti::sms {

Result<std::string> normalize_phone(std::string_view input, std::string_view default_country) {
  std::string digits;
  bool plus = false;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const char c = input[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
      if (digits.empty() && c != '(') return make_error("phone number must start with a digit or '+'");
    } else {
      return make_error("phone number contains a character that is not a digit");
    }
  }
  if (digits.empty()) return make_error("phone number has no digits");
  std::string international;
  if (plus) {
    international = digits;
  } else if (digits.starts_with("00")) {
    international = digits.substr(2);
  } else if (digits.starts_with("0")) {
    if (default_country.empty()) return make_error("national phone number but no default country code");
    international = std::string(default_country) + digits.substr(1);
  } else {
    international = digits;  // already with country code, without '+'
  }
  if (international.starts_with("0")) return make_error("country code cannot start with 0");
  // E.164: at most 15 digits; 8 is the shortest real mobile number we accept (country + subscriber).
  if (international.size() < 8 || international.size() > 15) {
    return make_error("phone number must have 8 to 15 digits with the country code");
  }
  return "+" + international;
}

std::string mask_phone(std::string_view e164) {
  std::string out;
  const std::size_t keep = 2;
  for (std::size_t i = 0; i < e164.size(); ++i) {
    if (i + keep >= e164.size()) {
      out += e164[i];
    } else {
      out += "\xE2\x80\xA2";  // U+2022 bullet
    }
  }
  return out;
}

}  // namespace sinetti::sms
