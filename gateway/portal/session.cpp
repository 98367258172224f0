#include "gateway/portal/session.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "crypto/random.hpp"
#include "crypto/tokens.hpp"

namespace sinetti::portal {

namespace {

store::Timestamp stamp(std::chrono::system_clock::time_point t) { return store::to_timestamp(t); }

}  // namespace

bool SessionData::has_grant(std::string_view token_hex) const {
  return std::find(grants.begin(), grants.end(), token_hex) != grants.end();
}

void SessionData::grant(const std::string& token_hex) {
  if (has_grant(token_hex)) return;
  grants.push_back(token_hex);
  if (grants.size() > max_grants) grants.erase(grants.begin());
}

store::Bytes SessionData::encode() const {
  nlohmann::json j = {{"v", 1}, {"grants", grants}, {"challenges", challenges}, {"notices", notices}};
  if (auth) {
    j["auth"] = {{"provider", auth->provider}, {"state", auth->state}, {"nonce", auth->nonce},
                 {"verifier", auth->code_verifier}, {"return_to", auth->return_to}, {"at", auth->started_ms}};
  }
  const std::string text = j.dump();
  return store::Bytes(text.begin(), text.end());
}

SessionData SessionData::decode(const store::Bytes& bytes) {
  SessionData d;
  auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (!j.is_object()) return d;
  if (auto g = j.find("grants"); g != j.end() && g->is_array()) {
    for (const auto& item : *g) {
      if (item.is_string() && d.grants.size() < max_grants) d.grants.push_back(item.get<std::string>());
    }
  }
  if (auto n = j.find("notices"); n != j.end() && n->is_array()) {
    for (const auto& item : *n) {
      if (item.is_string() && d.notices.size() < max_grants) d.notices.push_back(item.get<std::string>());
    }
  }
  if (auto a = j.find("auth"); a != j.end() && a->is_object()) {
    auto str = [&](const char* key) {
      const auto it = a->find(key);
      return it != a->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    AuthPending p{str("provider"), str("state"), str("nonce"), str("verifier"), str("return_to"), 0};
    if (auto at = a->find("at"); at != a->end() && at->is_number_integer()) p.started_ms = at->get<std::int64_t>();
    if (!p.provider.empty() && !p.state.empty() && !p.nonce.empty() && !p.code_verifier.empty()) d.auth = std::move(p);
  }
  if (auto c = j.find("challenges"); c != j.end() && c->is_object()) {
    for (const auto& [k, v] : c->items()) {
      if (v.is_string() && d.challenges.size() < max_grants) d.challenges.emplace(k, v.get<std::string>());
    }
  }
  return d;
}

std::string hex(const store::Hash& hash) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(hash.size() * 2);
  for (const auto b : hash) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

store::Hash hash_of_token(std::string_view token) {
  const auto d = crypto::token_hash(token);
  store::Hash h{};
  std::copy(d.begin(), d.end(), h.begin());
  return h;
}

SessionKeeper::SessionKeeper(store::Store& store, crypto::ByteView secret, const Clock& clock, std::chrono::seconds idle,
                             std::chrono::seconds absolute)
    : store_(store), secret_(secret), clock_(clock), idle_(idle), absolute_(absolute) {}

Result<std::optional<LiveSession>> SessionKeeper::resume(const Request& request) {
  const auto cookie_header = request.header("cookie");
  if (!cookie_header) return std::optional<LiveSession>();
  const auto cookies = parse_cookies(*cookie_header);
  const auto it = cookies.find(session_cookie);
  if (it == cookies.end() || it->second.empty() || it->second.size() > max_cookie_value) {
    return std::optional<LiveSession>();
  }
  LiveSession live;
  live.id = it->second;
  live.id_hash = hash_of_token(live.id);
  auto found = store_.find_session(live.id_hash);
  if (!found) return found.error();
  if (!*found) return std::optional<LiveSession>();
  const auto now = stamp(clock_.now());
  if ((*found)->last_seen + idle_ <= now || (*found)->expires <= now) {
    if (auto d = store_.delete_session(live.id_hash); !d) return d.error();
    return std::optional<LiveSession>();
  }
  live.data = SessionData::decode((*found)->data);
  if ((*found)->identity) live.identity = auth::Identity::decode(*(*found)->identity);
  if (now - (*found)->last_seen >= refresh_interval(idle_)) {
    if (auto t = store_.touch_session(live.id_hash, std::nullopt); !t) return t.error();
  }
  return std::optional<LiveSession>(std::move(live));
}

std::chrono::seconds SessionKeeper::refresh_interval(std::chrono::seconds idle) {
  return std::min<std::chrono::seconds>(std::chrono::minutes(1), idle / 10);
}

Result<LiveSession> SessionKeeper::create(SessionData data, std::optional<auth::Identity> identity) {
  return make(std::move(data), std::move(identity), nullptr);
}

Result<LiveSession> SessionKeeper::make(SessionData data, std::optional<auth::Identity> identity,
                                        const store::Hash* replaces) {
  LiveSession live;
  live.id = crypto::generate_token();  // 256 bits from the CSPRNG
  live.id_hash = hash_of_token(live.id);
  live.data = std::move(data);
  live.identity = std::move(identity);
  live.created = true;
  store::Session s;
  s.id_hash = live.id_hash;
  s.data = live.data.encode();
  s.expires = stamp(clock_.now()) + absolute_;
  if (live.identity) s.identity = live.identity->encode();
  auto put = replaces != nullptr ? store_.replace_session(*replaces, s) : store_.put_session(s);
  if (!put) return put.error();
  return live;
}

store::Status SessionKeeper::save(const LiveSession& session) {
  auto t = store_.touch_session(session.id_hash, session.data.encode());
  if (!t) return t.error();
  return store::ok_status();
}

Result<LiveSession> SessionKeeper::rotate(const LiveSession& session) {
  return make(session.data, session.identity, &session.id_hash);
}

Result<LiveSession> SessionKeeper::identify(const LiveSession& session, auth::Identity identity) {
  return make(session.data, std::move(identity), &session.id_hash);
}

std::string SessionKeeper::csrf_token(const LiveSession& session) const {
  const std::string input = "csrf\n" + session.id;
  const auto mac = crypto::hmac_sha256(secret_, crypto::as_bytes(input));
  return crypto::base64url_encode(mac);
}

bool SessionKeeper::csrf_valid(const LiveSession& session, std::string_view token) const {
  const std::string expected = csrf_token(session);
  return token.size() == expected.size() && crypto::constant_time_equal(crypto::as_bytes(expected), crypto::as_bytes(token));
}

std::string SessionKeeper::set_cookie(const LiveSession& session) {
  return std::string(session_cookie) + "=" + session.id + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

std::string new_device_id() { return crypto::generate_token(); }

std::string set_device_cookie(std::string_view id) {
  // 400 days: the longest lifetime browsers keep (RFC 6265bis §5.6.1).
  return std::string(device_cookie) + "=" + std::string(id) + "; Path=/; Max-Age=34560000; Secure; HttpOnly; SameSite=Strict";
}

}  // namespace sinetti::portal
