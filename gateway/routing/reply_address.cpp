#include "gateway/routing/reply_address.hpp"

#include <cctype>

namespace sinetti::routing {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// The local part after "reply+", if the address is a reply address.
std::optional<std::string_view> token_part(std::string_view address, std::string_view domain) {
  if (domain.empty()) return std::nullopt;
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  if (!iequals(address.substr(at + 1), domain)) return std::nullopt;
  const std::string_view local = address.substr(0, at);
  if (local.size() < reply_local_prefix.size() || !iequals(local.substr(0, reply_local_prefix.size()), reply_local_prefix)) {
    return std::nullopt;
  }
  return local.substr(reply_local_prefix.size());
}

}  // namespace

std::string reply_address(std::string_view token, std::string_view domain) {
  std::string out(reply_local_prefix);
  out.append(token).append("@").append(domain);
  return out;
}

bool is_reply_address(std::string_view address, std::string_view domain) {
  return token_part(address, domain).has_value();
}

std::optional<std::string> reply_token(std::string_view address, std::string_view domain) {
  const auto part = token_part(address, domain);
  if (!part || part->size() != reply_token_length) return std::nullopt;
  for (char c : *part) {
    if (!base64url(c)) return std::nullopt;
  }
  return std::string(*part);
}

}  // namespace sinetti::routing
