// Passwords as argon2id hashes in the PHC string format (libargon2), for SMTP AUTH on submission
// listeners: `listeners[].auth.users_file` holds `user:$argon2id$v=19$m=M,t=T,p=P$SALT$HASH` lines.
// Parameters weaker than OWASP ASVS's floor (t=2, m=19 MiB, p=1; REFERENCES "One-time PINs and
// sessions") are refused when the file is read. Hashing is slow by design: call it off the I/O threads.
// Untrusted input: the user name and password a client sends; the file comes from the operator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "sinetti/result.hpp"

namespace sinetti::crypto {

struct Argon2Params {
  std::uint32_t t_cost = 2;          // passes
  std::uint32_t m_cost_kib = 19456;  // memory in KiB (19 MiB)
  std::uint32_t parallelism = 1;
};

// The weakest parameters accepted (ASVS), and the ceilings that keep one AUTH from exhausting memory.
inline constexpr Argon2Params argon2_floor{2, 19456, 1};
inline constexpr std::uint32_t argon2_max_m_cost_kib = 1u << 20;  // 1 GiB
inline constexpr std::uint32_t argon2_max_t_cost = 64;
inline constexpr std::uint32_t argon2_max_parallelism = 16;

// A fresh PHC string for `password` with a random 16-byte salt and a 32-byte hash.
Result<std::string> hash_password(std::string_view password, Argon2Params params = {});

// Parsed form of a PHC argon2id string; nothing secret (the hash is of a password, not the password).
struct PasswordHash {
  Argon2Params params;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};
// Parses `$argon2id$v=19$m=..,t=..,p=..$salt$hash` (base64 without padding, as PHC writes it). Refuses
// other variants and versions, salts shorter than 8 bytes, hashes shorter than 16 bytes, parameters
// below argon2_floor or above the ceilings.
Result<PasswordHash> parse_password_hash(std::string_view phc);

// Recomputes and compares in constant time.
bool verify_password(const PasswordHash& hash, std::string_view password);

// The users file: `user:PHC` per line; empty lines and lines starting with '#' are ignored.
class PasswordFile {
 public:
  // Errors are one line, "FILE:LINE: reason", and never quote a hash.
  static Result<PasswordFile> load(const std::filesystem::path& file);
  static Result<PasswordFile> parse(std::string_view text, std::string_view file_name);

  // Whether `user` exists and `password` is theirs. An unknown user costs one hash computation like
  // a known one, so the answer's timing does not tell which user names exist.
  bool verify(std::string_view user, std::string_view password) const;
  std::size_t size() const { return users_.size(); }

 private:
  std::map<std::string, PasswordHash, std::less<>> users_;
  PasswordHash dummy_;  // what an unknown user is checked against
};

}  // namespace sinetti::crypto
