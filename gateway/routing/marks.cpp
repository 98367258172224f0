#include "gateway/routing/marks.hpp"

#include <algorithm>
#include <cctype>

#include "gateway/routing/detectors.hpp"
#include "sms/phone.hpp"

namespace sinetti::routing {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// No top-level domain is numeric, so an all-digit label before ".s" is meant as a phone number.
bool is_phone_label(std::string_view label) {
  if (label.starts_with("+")) label.remove_prefix(1);
  return !label.empty() && std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

RecipientMarks parse_recipient_marks(std::string_view recipient, const config::Marks& marks,
                                     std::string_view default_country) {
  RecipientMarks out;
  out.address = std::string(recipient);
  if (!marks.address_suffix) return out;
  const auto at = recipient.rfind('@');
  if (at == std::string_view::npos) return out;
  std::string_view domain = recipient.substr(at + 1);
  if (domain.size() < 3 || lower(domain.substr(domain.size() - 2)) != ".s") return out;
  domain.remove_suffix(2);
  out.suffix = true;
  // recipient@domain.tld.PHONE.s: the last label before .s is the phone number.
  if (const auto dot = domain.rfind('.'); dot != std::string_view::npos && is_phone_label(domain.substr(dot + 1))) {
    auto phone = sms::normalize_phone(domain.substr(dot + 1), default_country);
    if (phone) {
      out.phone = *phone;
    } else {
      out.problem = "the phone number in the address suffix is not valid: " + phone.error().message;
    }
    domain = domain.substr(0, dot);
  }
  if (domain.find('.') == std::string_view::npos) {
    out.problem = "the address suffix leaves no domain";
  }
  out.address = std::string(recipient.substr(0, at + 1)) + std::string(domain);
  return out;
}

MessageMarks parse_message_marks(const mime::Message& message, const config::Marks& marks,
                                 std::string_view default_country) {
  MessageMarks out;
  out.subject = message.subject;
  // Subject tags, case-insensitive, anywhere in the subject (usually first, or after "Re: ").
  const std::string subject_lower = lower(message.subject);
  for (const auto& tag : marks.subject_tags) {
    if (tag.empty()) continue;
    const auto pos = subject_lower.find(lower(tag));
    if (pos == std::string::npos) continue;
    out.subject_tag = tag;
    // Remove the tag and one space next to it, so "Re: [secure] Päätös" becomes "Re: Päätös".
    std::string before = message.subject.substr(0, pos);
    std::string after = message.subject.substr(pos + tag.size());
    if (after.starts_with(' ')) after.erase(0, 1);
    else if (before.ends_with(' ')) before.pop_back();
    out.subject = before + after;
    const std::string t = lower(tag);
    if (t == "[suojattu]") out.language = config::Language::fi;
    else if (t == "[skyddad]") out.language = config::Language::sv;
    else if (t == "[secure]") out.language = config::Language::en;
    break;
  }
  if (!marks.headers) return out;
  if (auto v = message.header("X-Sinetti-Protect")) {
    const std::string level = lower(trim(*v));
    if (level == "letter") out.level = config::ProtectionLevel::letter;
    else if (level == "sms") out.level = config::ProtectionLevel::sms;
    else if (level == "personal") out.level = config::ProtectionLevel::personal;
    else out.problems.push_back("X-Sinetti-Protect is not one of letter, sms, personal");
  }
  if (auto v = message.header("X-Sinetti-Sms")) {
    auto phone = sms::normalize_phone(trim(*v), default_country);
    if (phone) out.phone = *phone;
    else out.problems.push_back("X-Sinetti-Sms is not a valid phone number: " + phone.error().message);
  }
  if (auto v = message.header("X-Sinetti-Identity")) {
    std::string code(trim(*v));
    std::transform(code.begin(), code.end(), code.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (is_valid_identity_code(code)) out.identity_code = code;
    else out.problems.push_back("X-Sinetti-Identity is not a valid personal identity code");
  }
  if (auto v = message.header("X-Sinetti-Language")) {
    const std::string l = lower(trim(*v));
    if (l == "fi") out.language = config::Language::fi;
    else if (l == "sv") out.language = config::Language::sv;
    else if (l == "en") out.language = config::Language::en;
    else out.problems.push_back("X-Sinetti-Language is not one of fi, sv, en");
  }
  return out;
}

}  // namespace sinetti::routing
