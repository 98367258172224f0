#include "gateway/auth/identity.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "crypto/primitives.hpp"

namespace sinetti::auth {

namespace {

std::string hex_of(const store::Bytes& b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto c : b) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<store::Bytes> unhex(const std::string& s) {
  if (s.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  store::Bytes out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::string text(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  auto s = it->get<std::string>();
  if (s.size() > max_claim_text) s.resize(max_claim_text);
  return s;
}

}  // namespace

bool Identity::matches_identity_key(const store::Bytes& key) const {
  return is_citizen() && identity_key.size() == 32 && key.size() == identity_key.size() &&
         crypto::constant_time_equal(crypto::ByteView(identity_key.data(), identity_key.size()),
                                     crypto::ByteView(key.data(), key.size()));
}

bool Identity::in_group(std::string_view group) const {
  return is_staff() && std::find(groups.begin(), groups.end(), group) != groups.end();
}

store::Bytes Identity::encode() const {
  nlohmann::json j = {{"v", 1},
                      {"kind", is_citizen() ? "citizen" : "staff"},
                      {"provider", provider},
                      {"at", std::chrono::duration_cast<std::chrono::milliseconds>(verified_at.time_since_epoch()).count()}};
  if (is_citizen()) {
    j["key"] = hex_of(identity_key);
    j["acr"] = acr;
  } else {
    j["sub"] = subject;
    j["name"] = name;
    j["email"] = email;
    j["groups"] = groups;
  }
  const std::string s = j.dump();
  return store::Bytes(s.begin(), s.end());
}

std::optional<Identity> Identity::decode(const store::Bytes& bytes) {
  auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (!j.is_object() || !j.contains("v") || j["v"] != 1) return std::nullopt;
  Identity id;
  const auto kind = text(j, "kind");
  if (kind == "citizen") id.kind = IdentityKind::citizen;
  else if (kind == "staff") id.kind = IdentityKind::staff;
  else return std::nullopt;
  id.provider = text(j, "provider");
  if (id.provider.empty()) return std::nullopt;
  if (auto at = j.find("at"); at != j.end() && at->is_number_integer()) {
    id.verified_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(at->get<std::int64_t>()));
  }
  if (id.is_citizen()) {
    auto key = unhex(text(j, "key"));
    if (!key || key->size() != 32) return std::nullopt;
    id.identity_key = std::move(*key);
    id.acr = text(j, "acr");
  } else {
    id.subject = text(j, "sub");
    if (id.subject.empty()) return std::nullopt;
    id.name = text(j, "name");
    id.email = text(j, "email");
    if (auto g = j.find("groups"); g != j.end() && g->is_array()) {
      for (const auto& item : *g) {
        if (item.is_string() && id.groups.size() < max_groups && item.get_ref<const std::string&>().size() <= max_claim_text) {
          id.groups.push_back(item.get<std::string>());
        }
      }
    }
  }
  return id;
}

}  // namespace sinetti::auth
