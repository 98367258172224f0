// Portal sessions (OWASP ASVS 7.2, NIST SP 800-63B §4.2.3): a 256-bit random id in the
// `__Host-sinetti` cookie (Secure, HttpOnly, SameSite=Strict, Path=/), kept in the store only as
// its SHA-256, with an idle timeout (portal.session_idle) and an absolute one
// (portal.session_absolute); a new id at every unlock; a CSRF token per session (HMAC of the id
// under the "session" server secret) that every form carries. The session remembers which read
// links it has unlocked (grants) and which PIN challenge it asked for per link (binding the PIN to
// the request, ASVS 6.6.3). Untrusted input: the Cookie header and the csrf form field.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/primitives.hpp"
#include "gateway/auth/identity.hpp"
#include "gateway/auth/pending.hpp"
#include "gateway/portal/http.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"

namespace sinetti::portal {

inline constexpr std::string_view session_cookie = "__Host-sinetti";
inline constexpr std::string_view device_cookie = "__Host-sinetti-device";
inline constexpr std::size_t max_grants = 32;       // read links one session may hold open
inline constexpr std::size_t max_cookie_value = 64; // longer cookie values are ignored unread

// A sign-in under way; the callback takes it out of the session before anything else.
using AuthPending = auth::Pending;

// What a session remembers, kept opaque (JSON) in the store.
struct SessionData {
  std::vector<std::string> grants;                 // hex token hashes this session may read
  std::map<std::string, std::string> challenges;   // hex token hash → PIN challenge id asked for here
  std::vector<std::string> notices;                // hex token hashes whose sender was told "no PIN"
  std::optional<AuthPending> auth;                 // the sign-in under way, if any

  bool has_grant(std::string_view token_hex) const;
  void grant(const std::string& token_hex);  // the oldest grant goes beyond max_grants
  store::Bytes encode() const;
  static SessionData decode(const store::Bytes& bytes);  // unreadable data: an empty session
};

struct LiveSession {
  std::string id;        // the cookie value; never logged
  store::Hash id_hash{};
  SessionData data;
  std::optional<auth::Identity> identity;  // verified by an OpenID Connect sign-in; stored beside data
  bool created = false;  // made during this request: the response must set the cookie
};

class SessionKeeper {
 public:
  // `secret`: KeyRing::server_secret("session"), valid while the ring lives.
  SessionKeeper(store::Store& store, crypto::ByteView secret, const Clock& clock, std::chrono::seconds idle,
                std::chrono::seconds absolute);

  // The session the request's cookie names, if it is known, within its absolute lifetime and not
  // idle for longer than the idle timeout (such a one is deleted). Counts as activity: last_seen is
  // written when it is at least refresh_interval() old, so a page view is not a durable store
  // write each time. The idle timeout counts from the recorded last_seen: a session in use ends
  // no later than `idle` after its last request, and no earlier than `idle - refresh_interval()`.
  Result<std::optional<LiveSession>> resume(const Request& request);
  // How stale last_seen may be before a request records it again: a tenth of the idle timeout,
  // at most a minute (15 min idle: 1 min; 1 min idle: 6 s).
  static std::chrono::seconds refresh_interval(std::chrono::seconds idle);
  Result<LiveSession> create(SessionData data = {}, std::optional<auth::Identity> identity = std::nullopt);
  // Stores the data and counts as activity.
  store::Status save(const LiveSession& session);
  // A new id for the same data and identity (the old one is deleted in the same store
  // transaction): at every unlock (ASVS 7.2.4).
  Result<LiveSession> rotate(const LiveSession& session);
  // Binds a verified identity to the session under a new id (rotate): at every identification.
  // The data is saved with it (the caller has usually just taken the pending sign-in out).
  Result<LiveSession> identify(const LiveSession& session, auth::Identity identity);

  std::string csrf_token(const LiveSession& session) const;
  bool csrf_valid(const LiveSession& session, std::string_view token) const;

  // The Set-Cookie value for the session (a browser-session cookie: no Max-Age).
  static std::string set_cookie(const LiveSession& session);

 private:
  // A new session; with `replaces`, that one is deleted in the same commit.
  Result<LiveSession> make(SessionData data, std::optional<auth::Identity> identity, const store::Hash* replaces);

  store::Store& store_;
  crypto::ByteView secret_;
  const Clock& clock_;
  std::chrono::seconds idle_;
  std::chrono::seconds absolute_;
};

// Lower-case hex of a hash, as sessions and logs refer to read links.
std::string hex(const store::Hash& hash);
store::Hash hash_of_token(std::string_view token);  // SHA-256 of the token's characters

// The letter level's device cookie: 256 random bits, long-lived; the store keeps its hash.
std::string new_device_id();
std::string set_device_cookie(std::string_view id);

}  // namespace sinetti::portal
