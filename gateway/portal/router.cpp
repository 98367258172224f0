#include "gateway/portal/router.hpp"

#include <charconv>
#include <vector>

namespace sinetti::portal {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos || out.size() > 6) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool token_chars(std::string_view s) {
  if (s.empty() || s.size() > max_token_segment) return false;
  for (const char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Route make(RouteKind kind, std::string_view method, std::string_view wanted, std::string token = {}) {
  Route r;
  r.kind = kind;
  r.token = std::move(token);
  r.allow = wanted;
  // HEAD is answered like GET by the listener (without the body).
  r.method_allowed = method == wanted || (wanted == "GET" && method == "HEAD");
  return r;
}

// An attachment number: decimal, no leading zero, at most 6 digits.
std::optional<std::size_t> attachment_index(std::string_view n) {
  std::size_t index = 0;
  if (n.empty() || n.size() > 6 || (n.size() > 1 && n.front() == '0')) return std::nullopt;
  const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), index);
  if (ec != std::errc() || end != n.data() + n.size()) return std::nullopt;
  return index;
}

// /new and /threads/...: thread and message ids are message-id-like, checked like tokens.
Route client_route(std::string_view method, const std::vector<std::string_view>& s) {
  if (s[0] == "new") {
    if (s.size() != 1) return Route{};
    if (method == "POST") return make(RouteKind::new_submit, method, "POST");
    auto r = make(RouteKind::new_form, method, "GET");
    if (!r.method_allowed) r.allow = "GET, HEAD, POST";
    return r;
  }
  if (s.size() == 1) return make(RouteKind::threads, method, "GET");
  if (!token_chars(s[1]) || s[1].size() > 64) return Route{};
  std::string thread(s[1]);
  if (s.size() == 2) return make(RouteKind::thread, method, "GET", std::move(thread));
  if (s.size() == 3 && s[2] == "reply") return make(RouteKind::thread_reply, method, "POST", std::move(thread));
  if (s.size() == 4 && s[2] == "sent" && token_chars(s[3]) && s[3].size() <= 64) {
    auto r = make(RouteKind::thread_sent, method, "GET", std::move(thread));
    r.item = std::string(s[3]);
    return r;
  }
  if (s.size() == 5 && s[2] == "attachment" && token_chars(s[3]) && s[3].size() <= 64) {
    const auto index = attachment_index(s[4]);
    if (!index) return Route{};
    auto r = make(RouteKind::thread_attachment, method, "GET", std::move(thread));
    r.item = std::string(s[3]);
    r.index = index;
    return r;
  }
  return Route{};
}

// ---- staff views: /staff, /staff/m/{token}[/claim|/release|/reassign|/read|/reply|/attachment/{n}]
Route staff_route(std::string_view method, const std::vector<std::string_view>& s) {
  if (s.size() == 1) return make(RouteKind::staff_home, method, "GET");
  if (s.size() < 3 || s[1] != "m" || !token_chars(s[2])) return Route{};
  std::string token(s[2]);
  if (s.size() == 3) return make(RouteKind::staff_landing, method, "GET", std::move(token));
  if (s.size() == 4) {
    if (s[3] == "claim") return make(RouteKind::staff_claim, method, "POST", std::move(token));
    if (s[3] == "release") return make(RouteKind::staff_release, method, "POST", std::move(token));
    if (s[3] == "reassign") return make(RouteKind::staff_reassign, method, "POST", std::move(token));
    if (s[3] == "read") return make(RouteKind::staff_read, method, "GET", std::move(token));
    if (s[3] == "reply") return make(RouteKind::staff_reply, method, "POST", std::move(token));
    return Route{};
  }
  if (s.size() == 5 && s[3] == "attachment") {
    const auto index = attachment_index(s[4]);
    if (!index) return Route{};
    auto r = make(RouteKind::staff_attachment, method, "GET", std::move(token));
    r.index = *index;
    return r;
  }
  return Route{};
}

}  // namespace

Route route(std::string_view method, std::string_view path) {
  if (path == "/") return make(RouteKind::home, method, "GET");
  if (path == "/accessibility") return make(RouteKind::accessibility, method, "GET");
  if (path == "/static/portal.css") return make(RouteKind::stylesheet, method, "GET");
  const auto s = segments(path);
  if (path == "/auth/jwks.json") return make(RouteKind::auth_jwks, method, "GET");
  if (s.size() == 3 && s[0] == "auth" && token_chars(s[1]) && s[1].size() <= 64) {
    if (s[2] == "start") return make(RouteKind::auth_start, method, "GET", std::string(s[1]));
    if (s[2] == "callback") return make(RouteKind::auth_callback, method, "GET", std::string(s[1]));
    return Route{};
  }
  if (!s.empty() && (s[0] == "new" || s[0] == "threads")) return client_route(method, s);
  if (!s.empty() && s[0] == "staff") return staff_route(method, s);
  if (s.size() < 2 || s[0] != "m" || !token_chars(s[1])) return Route{};
  std::string token(s[1]);
  if (s.size() == 2) return make(RouteKind::landing, method, "GET", std::move(token));
  if (s.size() == 3) {
    if (s[2] == "pin") return make(RouteKind::pin, method, "POST", std::move(token));
    if (s[2] == "unlock") return make(RouteKind::unlock, method, "POST", std::move(token));
    if (s[2] == "no-pin") return make(RouteKind::pin_missing, method, "POST", std::move(token));
    if (s[2] == "read") return make(RouteKind::read, method, "GET", std::move(token));
    if (s[2] == "reply") return make(RouteKind::reply, method, "POST", std::move(token));
    return Route{};
  }
  if (s.size() == 4 && s[2] == "attachment") {
    const auto index = attachment_index(s[3]);
    if (!index) return Route{};
    auto r = make(RouteKind::attachment, method, "GET", std::move(token));
    r.index = *index;
    return r;
  }
  return Route{};
}

bool needs_store(const Route& r) {
  if (!r.method_allowed) return false;
  switch (r.kind) {
    case RouteKind::accessibility:
    case RouteKind::stylesheet:
    case RouteKind::home:
    case RouteKind::auth_jwks:
    case RouteKind::not_found:
      return false;
    default:
      return true;
  }
}

}  // namespace sinetti::portal
