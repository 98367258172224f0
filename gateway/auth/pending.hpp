// A sign-in under way (GET /auth/{provider}/start → .../callback), as the portal session keeps it:
// what the callback must match and what redeeming the code needs. Plain data.
#pragma once

#include <cstdint>
#include <string>

namespace sinetti::auth {

// A sign-in under way, kept in the portal session between start and callback. Single use.
struct Pending {
  std::string provider;       // oidc.providers[].id
  std::string state;          // random, compared with the callback's `state`
  std::string nonce;          // random, must come back in the ID token
  std::string code_verifier;  // PKCE (RFC 7636), S256
  std::string return_to;      // a local path to go back to ("/m/TOKEN", "/new", "/staff/..."); never a URL
  std::int64_t started_ms = 0;  // when (sinetti::Clock)
};

}  // namespace sinetti::auth
