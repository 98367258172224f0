#include "crypto/password.hpp"

#include <argon2.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "crypto/random.hpp"

namespace sinetti::crypto {
namespace {

constexpr std::size_t salt_bytes = 16;  // RFC 9106 §3.1 recommends 16
constexpr std::size_t hash_bytes = 32;
constexpr std::size_t min_salt_bytes = 8;
constexpr std::size_t min_hash_bytes = 16;
constexpr std::size_t max_field_bytes = 1024;  // salt and hash fields, before decoding

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 without padding, as the PHC string format writes it.
std::string b64_encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += b64_alphabet[(n >> s) & 63];
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) n |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    if (rest == 2) out += b64_alphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> b64_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr(b64_alphabet, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(p - b64_alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<std::uint32_t> number(std::string_view s) {
  std::uint32_t v = 0;
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

Result<std::string> compute(const Argon2Params& p, std::string_view password, std::string_view salt, std::size_t length) {
  std::string out(length, '\0');
  const int rc = argon2id_hash_raw(p.t_cost, p.m_cost_kib, p.parallelism, password.data(), password.size(), salt.data(),
                                   salt.size(), out.data(), out.size());
  if (rc != ARGON2_OK) return make_error(std::string("argon2id: ") + argon2_error_message(rc));
  return out;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, Argon2Params params) {
  if (params.t_cost < argon2_floor.t_cost || params.m_cost_kib < argon2_floor.m_cost_kib || params.parallelism < 1) {
    return make_error("argon2id parameters below the floor (t=2, m=19456, p=1)");
  }
  std::array<std::uint8_t, salt_bytes> salt{};
  random_bytes(salt);
  const std::string salt_text(reinterpret_cast<const char*>(salt.data()), salt.size());
  auto hash = compute(params, password, salt_text, hash_bytes);
  if (!hash) return hash.error();
  return "$argon2id$v=19$m=" + std::to_string(params.m_cost_kib) + ",t=" + std::to_string(params.t_cost) +
         ",p=" + std::to_string(params.parallelism) + "$" + b64_encode(salt_text) + "$" + b64_encode(*hash);
}

Result<PasswordHash> parse_password_hash(std::string_view phc) {
  // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
  const auto parts = split(phc, '$');
  if (parts.size() != 6 || !parts[0].empty()) return make_error("not a PHC string ($argon2id$v=19$m=..,t=..,p=..$salt$hash)");
  if (parts[1] != "argon2id") return make_error("only argon2id hashes are accepted");
  if (parts[2] != "v=19") return make_error("only argon2 version 19 is accepted");
  PasswordHash h;
  bool m = false, t = false, p = false;
  for (const auto param : split(parts[3], ',')) {
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) return make_error("malformed parameter list");
    const auto key = param.substr(0, eq);
    const auto value = number(param.substr(eq + 1));
    if (!value) return make_error("malformed parameter value");
    if (key == "m" && !m) {
      h.params.m_cost_kib = *value;
      m = true;
    } else if (key == "t" && !t) {
      h.params.t_cost = *value;
      t = true;
    } else if (key == "p" && !p) {
      h.params.parallelism = *value;
      p = true;
    } else {
      return make_error("unexpected parameter in the parameter list");
    }
  }
  if (!m || !t || !p) return make_error("the parameter list needs m, t and p");
  if (h.params.t_cost < argon2_floor.t_cost || h.params.m_cost_kib < argon2_floor.m_cost_kib || h.params.parallelism < 1) {
    return make_error("parameters are weaker than t=2, m=19456 (19 MiB), p=1");
  }
  if (h.params.t_cost > argon2_max_t_cost || h.params.m_cost_kib > argon2_max_m_cost_kib ||
      h.params.parallelism > argon2_max_parallelism) {
    return make_error("parameters are above the limits t=64, m=1048576 (1 GiB), p=16");
  }
  if (parts[4].size() > max_field_bytes || parts[5].size() > max_field_bytes) return make_error("salt or hash too long");
  auto salt = b64_decode(parts[4]);
  auto hash = b64_decode(parts[5]);
  if (!salt || !hash) return make_error("salt or hash is not base64");
  if (salt->size() < min_salt_bytes) return make_error("salt shorter than 8 bytes");
  if (hash->size() < min_hash_bytes) return make_error("hash shorter than 16 bytes");
  h.salt = std::move(*salt);
  h.hash = std::move(*hash);
  return h;
}

bool verify_password(const PasswordHash& hash, std::string_view password) {
  auto computed = compute(hash.params, password, hash.salt, hash.hash.size());
  if (!computed) return false;
  const bool same = CRYPTO_memcmp(computed->data(), hash.hash.data(), hash.hash.size()) == 0;
  OPENSSL_cleanse(computed->data(), computed->size());
  return same;
}

Result<PasswordFile> PasswordFile::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(file.string() + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

Result<PasswordFile> PasswordFile::parse(std::string_view text, std::string_view file_name) {
  PasswordFile f;
  int line_no = 0;
  for (auto line : split(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = std::string(file_name) + ":" + std::to_string(line_no) + ": ";
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return make_error(where + "expected user:$argon2id$...");
    const std::string user(line.substr(0, colon));
    if (std::any_of(user.begin(), user.end(), [](unsigned char c) { return c < 0x21 || c == 0x7f; })) {
      return make_error(where + "the user name has spaces or control characters");
    }
    auto hash = parse_password_hash(line.substr(colon + 1));
    if (!hash) return make_error(where + "user '" + user + "': " + hash.error().message);
    if (!f.users_.emplace(user, std::move(*hash)).second) return make_error(where + "user '" + user + "' appears twice");
  }
  // The dummy takes the strongest parameters in the file, so an unknown name is never cheaper.
  f.dummy_.params = argon2_floor;
  for (const auto& [user, h] : f.users_) {
    const auto& p = h.params;
    if (static_cast<std::uint64_t>(p.t_cost) * p.m_cost_kib >
        static_cast<std::uint64_t>(f.dummy_.params.t_cost) * f.dummy_.params.m_cost_kib) {
      f.dummy_.params = p;
    }
  }
  std::array<std::uint8_t, salt_bytes> salt{};
  random_bytes(salt);
  f.dummy_.salt.assign(reinterpret_cast<const char*>(salt.data()), salt.size());
  f.dummy_.hash.assign(hash_bytes, '\0');
  return f;
}

bool PasswordFile::verify(std::string_view user, std::string_view password) const {
  const auto it = users_.find(user);
  if (it == users_.end()) {
    (void)verify_password(dummy_, password);
    return false;
  }
  return verify_password(it->second, password);
}

}  // namespace sinetti::crypto
