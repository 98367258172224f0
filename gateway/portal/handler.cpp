#include "gateway/portal/handler.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "crypto/sealed_stream.hpp"
#include "crypto/tokens.hpp"
#include "gateway/i18n/format.hpp"
#include "gateway/portal/client_message.hpp"
#include "gateway/portal/content.hpp"
#include "gateway/portal/html_sanitizer.hpp"
#include "gateway/portal/multipart.hpp"
#include "gateway/portal/pages.hpp"
#include "gateway/portal/phone_tails.hpp"
#include "gateway/portal/router.hpp"
#include "gateway/portal/sender_notice.hpp"
#include "gateway/portal/session.hpp"
#include "gateway/portal/team_link.hpp"
#include "gateway/ingest/staff_reply.hpp"
#include "gateway/routing/marks.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "gateway/ingest/ids.hpp"
#include "smtp/mime/compose.hpp"
#include "smtp/mime/message.hpp"
#include "smtp/mime/text.hpp"
#include "sms/pin_text.hpp"

namespace sinetti::portal {

namespace {

using config::Language;
using i18n::TemplateMap;

constexpr std::size_t download_piece = 64 * 1024;
// The metadata pass over a message for the read page and a download's head keeps this much text
// of a text-like attachment (the attachment itself streams).
constexpr std::size_t metadata_text_bytes = 64 * 1024;
// Inline (cid:) images of an HTML body, shown as data: URIs.
constexpr std::uint64_t max_inline_image = 5 * 1024 * 1024;
constexpr std::uint64_t max_inline_images = 10 * 1024 * 1024;
// A reply from the portal: its text and its files (their bytes are within portal.max_body_size).
constexpr std::size_t max_reply_text = 100 * 1024;
constexpr std::size_t max_reply_files = 10;
// /threads lists at most this many threads; a thread page shows at most this many messages.
constexpr std::size_t max_listed_threads = 100;
constexpr std::size_t max_thread_messages = 200;

store::Timestamp now_ts(const Clock& clock) { return store::to_timestamp(clock.now()); }

// A read link that opens a protected message: known, not revoked, not expired, message not shredded.
struct Link {
  std::string token;
  store::Hash token_hash{};
  std::string token_hex;
  store::ReadToken record;
  store::MessageMeta meta;
  std::string base;  // "/m/TOKEN" ("/staff/m/TOKEN" on the staff views)
  const config::Team* team = nullptr;  // a team link (team_link.hpp): staff sign-in only
};

// The SMS limits from unlock.pin.
store::PinLimits pin_limits(const config::Config& c) {
  return store::PinLimits{c.unlock.pin.max_attempts, c.unlock.pin.max_per_hour, c.unlock.pin.max_failures};
}

std::string pin_context(const std::string& challenge_id, const std::string& token_hex) {
  return challenge_id + "\n" + token_hex;
}

class Handling {
 public:
  Handling(const Request& request, const PortalContext& ctx)
      : req_(request), ctx_(ctx), cfg_(ctx.config), lang_(choose_language(request, ctx.config)) {}

  Response run() {
    const Route r = route(req_.method, req_.path());
    Response res = dispatch(r);
    return finish(std::move(res));
  }

  Response error_page(int status, std::string_view kind, TemplateMap values = {}) {
    values.insert_or_assign(std::string(kind), true);
    auto page = render_page(ctx_.templates, cfg_, lang_, "error", std::move(values), req_.path());
    if (!page) {
      ctx_.logger.error("portal_template_failed", {{"template", "error"}, {"error", page.error().message}});
      Response r;
      r.status = status;
      r.set("Content-Type", "text/plain; charset=utf-8");
      r.body = "error\n";
      return r;
    }
    return html_response(status, std::move(*page));
  }

  Response finish(Response res) {
    if (session_ && session_->created) res.add("Set-Cookie", SessionKeeper::set_cookie(*session_));
    if (device_cookie_) res.add("Set-Cookie", set_device_cookie(*device_cookie_));
    add_security_headers(res);
    return res;
  }

 private:
  // ---- plumbing -------------------------------------------------------------------------------

  Response server_error(std::string_view where, const Error& e) {
    ctx_.logger.error("portal_error", {{"in", where}, {"error", e.message}});
    return error_page(500, "server");
  }

  Response page(int status, std::string_view kind, TemplateMap values) {
    auto html = render_page(ctx_.templates, cfg_, lang_, kind, std::move(values), req_.path());
    if (!html) return server_error("template", html.error());
    return html_response(status, std::move(*html));
  }

  SessionKeeper keeper() {
    static const std::uint8_t none = 0;
    auto secret = ctx_.ring.server_secret("session");
    return SessionKeeper(ctx_.store, secret ? *secret : crypto::ByteView(&none, 0), ctx_.clock, cfg_.portal.session_idle,
                         cfg_.portal.session_absolute);
  }

  // The session from the cookie; on a landing page a new one if there is none.
  std::optional<Error> load_session(bool create) {
    auto k = keeper();
    auto s = k.resume(req_);
    if (!s) return s.error();
    if (*s) {
      session_ = std::move(**s);
      return std::nullopt;
    }
    if (!create) return std::nullopt;
    auto fresh = k.create();
    if (!fresh) return fresh.error();
    session_ = std::move(*fresh);
    return std::nullopt;
  }

  bool csrf_ok(const std::map<std::string, std::string, std::less<>>& form) {
    if (!session_) return false;
    const auto it = form.find("csrf");
    return it != form.end() && keeper().csrf_valid(*session_, it->second);
  }

  std::string csrf() { return session_ ? keeper().csrf_token(*session_) : std::string(); }

  // Always exactly one store lookup for the token, whatever it is; the message is read only for a
  // link that is valid, so unknown, expired and revoked links cost the same.
  Result<std::optional<Link>> resolve(const std::string& token) {
    Link link;
    link.token = token;
    link.token_hash = hash_of_token(token);
    auto found = ctx_.store.find_token(link.token_hash);
    if (!found) return found.error();
    const auto now = now_ts(ctx_.clock);
    if (!*found || (*found)->revoked || (*found)->expires <= now || (*found)->purpose != store::TokenPurpose::read) {
      return std::optional<Link>();
    }
    link.record = std::move(**found);
    auto meta = ctx_.store.find_message(link.record.message_id);
    if (!meta) return meta.error();
    if (!*meta || store::is_shredded((*meta)->state) || (*meta)->kind != store::MessageKind::protected_message ||
        !(*meta)->wrapped_key) {
      return std::optional<Link>();
    }
    link.meta = std::move(**meta);
    link.token_hex = hex(link.token_hash);
    link.base = "/m/" + token;
    link.team = team_of_link(cfg_, link.record);
    return std::optional<Link>(std::move(link));
  }

  Response not_found_link() { return page(404, "not-found", {}); }

  // The team that sent a message, if its sender is a team's mailbox or address.
  std::string team_name(const store::MessageMeta& meta) const {
    const config::Team* team = meta.team_id.empty() ? nullptr : cfg_.find_team(meta.team_id);
    if (team == nullptr) {
      for (const auto& t : cfg_.teams) {
        if (!meta.sender.empty() && (t.mailbox == meta.sender || t.address == meta.sender)) team = &t;
      }
    }
    if (team == nullptr) return {};
    if (const auto it = team->name.find(lang_); it != team->name.end()) return it->second;
    return team->name.empty() ? team->id : team->name.begin()->second;
  }

  Result<std::string> open_phone(const store::MessageMeta& meta) {
    auto key = sealed::unwrap_data_key(ctx_.store, meta, ctx_.ring);
    if (!key) return key.error();
    auto phone = crypto::open_message(*key, meta.id + ".phone", meta.unlock.sealed_phone);
    if (!phone) return phone.error();
    return std::string(phone->begin(), phone->end());
  }

  // The last two digits the landing page shows, from the in-memory cache when there is one.
  Result<std::string> phone_tail(const store::MessageMeta& meta) {
    if (ctx_.phone_tails != nullptr) {
      if (auto known = ctx_.phone_tails->find(ctx_.ring, meta.id)) return std::move(*known);
    }
    auto phone = open_phone(meta);
    if (!phone) return phone.error();
    std::string tail = i18n::phone_tail(*phone);
    crypto::secure_wipe(*phone);
    if (ctx_.phone_tails != nullptr) ctx_.phone_tails->remember(ctx_.ring, meta.id, tail);
    return tail;
  }

  bool device_bound(const Link& link) {
    const auto cookies = parse_cookies(req_.header("cookie").value_or(""));
    const auto it = cookies.find(device_cookie);
    if (it == cookies.end() || it->second.empty() || it->second.size() > max_cookie_value) return false;
    auto bound = ctx_.store.is_device_bound(link.token_hash, hash_of_token(it->second));
    return bound && *bound;
  }

  std::optional<std::string> device_id() const {
    const auto cookies = parse_cookies(req_.header("cookie").value_or(""));
    const auto it = cookies.find(device_cookie);
    if (it == cookies.end() || it->second.empty() || it->second.size() > max_cookie_value) return std::nullopt;
    return it->second;
  }

  bool granted(const Link& link) {
    if (session_ && session_->data.has_grant(link.token_hex)) return true;
    return link.meta.unlock.kind == store::UnlockKind::device && device_bound(link);
  }

  void audit(std::string event, const Link& link, std::string outcome, nlohmann::json details = nlohmann::json::object()) {
    details["recipient_index"] = link.record.recipient_index;
    auto s = ctx_.store.append_audit({{std::move(event), link.meta.id, actor_, std::move(outcome), details.dump()}});
    if (!s) ctx_.logger.error("portal_audit_failed", {{"message", link.meta.id}, {"error", s.error().message}});
  }

  // ---- landing ----------------------------------------------------------------------------------

  struct LandingState {
    bool pin_sent = false;
    bool pin_void = false;
    bool rate_limited = false;
    bool sms_failed = false;
    bool device_taken = false;
    bool error_wrong = false;
    bool error_format = false;
    bool identity_mismatch = false;
    std::uint32_t attempts_left = 0;
  };

  Response landing_page(const Link& link, LandingState st, int status = 200) {
    const auto& m = link.meta;
    TemplateMap v = {{"base", link.base},
                     {"csrf", csrf()},
                     {"team", team_name(m)},
                     {"locked", m.state == store::MessageState::locked},
                     {"granted", granted(link)},
                     {"level_sms", m.unlock.kind == store::UnlockKind::phone},
                     {"level_letter", m.unlock.kind == store::UnlockKind::device},
                     {"level_personal", m.unlock.kind == store::UnlockKind::identity},
                     {"minutes", std::to_string(std::max<std::int64_t>(1, cfg_.unlock.pin.ttl.count() / 60))},
                     {"pin_length", std::to_string(cfg_.unlock.pin.length)},
                     {"pin_sent", st.pin_sent},
                     {"pin_missing_sent", session_ && std::find(session_->data.notices.begin(), session_->data.notices.end(),
                                                                link.token_hex) != session_->data.notices.end()},
                     {"pin_void", st.pin_void},
                     {"rate_limited", st.rate_limited},
                     {"sms_failed", st.sms_failed},
                     {"device_taken", st.device_taken},
                     {"pin_error", st.error_wrong || st.error_format},
                     {"error_wrong", st.error_wrong},
                     {"error_format", st.error_format},
                     {"attempts_left", std::to_string(st.attempts_left)}};
    if (m.unlock.kind == store::UnlockKind::identity) {
      std::vector<TemplateMap> providers;
      if (ctx_.oidc != nullptr) {
        for (const auto* p : ctx_.oidc->of_kind(config::ProviderKind::citizen)) {
          const auto name = p->name.find(lang_);
          providers.push_back({{"href", "/auth/" + p->id + "/start?m=" + link.token + "&lang=" + config::to_string(lang_)},
                               {"name", name != p->name.end() ? name->second : p->id}});
        }
      }
      v.insert_or_assign("identify_available", !providers.empty());
      v.insert_or_assign("providers", std::move(providers));
      v.insert_or_assign("identity_mismatch", st.identity_mismatch);
    }
    if (m.unlock.kind == store::UnlockKind::phone) {
      auto tail = phone_tail(m);
      if (!tail) return server_error("phone", tail.error());
      v.insert_or_assign("phone_tail", std::move(*tail));
    }
    return page(status, "landing", std::move(v));
  }

  // GET /m/{token}: shows, never changes the message. A session is created if there is none, so
  // the page's forms carry a CSRF token.
  Response landing(const Route& r) {
    // The page's reads (session, link, message, PIN challenge) from one store snapshot: none of
    // them depends on the session write a landing page may make.
    const auto snapshot = ctx_.store.read_scope();
    if (auto e = load_session(true)) return server_error("session", *e);
    auto link = resolve(r.token);
    if (!link) return server_error("token", link.error());
    if (!*link) return not_found_link();
    if ((*link)->team) return redirect(staff_base(r.token) + "?lang=" + config::to_string(lang_));  // staff sign-in only
    LandingState st;
    if (session_ && (*link)->meta.unlock.kind == store::UnlockKind::phone) {
      const auto it = session_->data.challenges.find((*link)->token_hex);
      if (it != session_->data.challenges.end()) {
        auto open = ctx_.store.find_open_pin_challenge((*link)->token_hash);
        if (!open) return server_error("pin", open.error());
        st.pin_sent = *open && (*open)->id == it->second;
      }
    }
    return landing_page(**link, st);
  }

  // Common to the POSTs: the session and its CSRF token, then the link.
  struct Posted {
    std::map<std::string, std::string, std::less<>> form;
    std::vector<FormPart> files;  // multipart/form-data file fields
    std::optional<Link> link;
    std::optional<Response> early;  // answer at once
  };

  Posted posted(const Route& r) {
    Posted p = posted_form(r.kind, "/m/" + r.token);
    if (p.early) return p;
    auto link = resolve(r.token);
    if (!link) {
      p.early = server_error("token", link.error());
      return p;
    }
    if (!*link) {
      p.early = not_found_link();
      return p;
    }
    if ((*link)->team) {  // a team link never opens here (no device confirmation, no PIN)
      p.early = redirect(staff_base(r.token) + "?lang=" + config::to_string(lang_));
      return p;
    }
    p.link = std::move(**link);
    return p;
  }

  // The form (urlencoded or multipart), the session and its CSRF token; `back` is where the
  // refusal page points.
  Posted posted_form(RouteKind kind, const std::string& back) {
    Posted p;
    const auto type = req_.header("content-type").value_or("");
    if (type.starts_with("application/x-www-form-urlencoded")) {
      p.form = parse_form(req_.body);
    } else if (const auto boundary = form_boundary(type)) {
      auto parts = parse_multipart(req_.body, *boundary);
      if (!parts) {
        p.early = error_page(400, "bad_request");
        return p;
      }
      for (auto& part : *parts) {
        if (part.filename) p.files.push_back(std::move(part));
        else if (p.form.size() < max_form_fields) p.form.emplace(part.name, std::string(part.data));
      }
    } else {
      p.early = error_page(400, "bad_request");
      return p;
    }
    if (auto e = load_session(false)) {
      p.early = server_error("session", *e);
      return p;
    }
    if (!csrf_ok(p.form)) {
      ctx_.logger.info("portal_csrf_refused", {{"path", route_name(kind)}, {"session", session_.has_value()}});
      p.early = error_page(403, "session", {{"back", back + "?lang=" + config::to_string(lang_)}});
      return p;
    }
    return p;
  }

  // POST /m/{token}/pin: a new PIN by SMS (level sms).
  Response send_pin(const Route& r) {
    auto p = posted(r);
    if (p.early) return std::move(*p.early);
    const Link& link = *p.link;
    const auto& m = link.meta;
    if (m.unlock.kind != store::UnlockKind::phone) return landing_page(link, {}, 400);
    if (m.state == store::MessageState::locked) return landing_page(link, {}, 403);
    LandingState st;
    if (ctx_.sms == nullptr) {
      st.sms_failed = true;
      return landing_page(link, st, 503);
    }
    auto secret = ctx_.ring.server_secret("pin-mac");
    if (!secret) return server_error("pin", secret.error());
    auto phone = open_phone(m);
    if (!phone) return server_error("phone", phone.error());

    std::string pin = crypto::random_digits(cfg_.unlock.pin.length);
    store::PinChallenge challenge;
    challenge.id = crypto::generate_token();
    challenge.message_id = m.id;
    challenge.token_hash = link.token_hash;
    const auto mac = crypto::pin_mac(*secret, pin_context(challenge.id, link.token_hex), pin);
    challenge.mac.assign(mac.begin(), mac.end());
    challenge.expires = now_ts(ctx_.clock) + cfg_.unlock.pin.ttl;
    auto issued = ctx_.store.issue_pin_challenge(challenge, pin_limits(cfg_), "client");
    if (!issued) {
      crypto::secure_wipe(pin);
      crypto::secure_wipe(*phone);
      return server_error("pin", issued.error());
    }
    if (*issued == store::PinIssue::locked) {
      crypto::secure_wipe(pin);
      crypto::secure_wipe(*phone);
      auto relinked = resolve(r.token);  // the state is now locked
      if (relinked && *relinked) return landing_page(**relinked, {}, 403);
      return not_found_link();
    }
    if (*issued == store::PinIssue::rate_limited) {
      crypto::secure_wipe(pin);
      crypto::secure_wipe(*phone);
      st.rate_limited = true;
      const auto it = session_->data.challenges.find(link.token_hex);
      if (it != session_->data.challenges.end()) {
        auto open = ctx_.store.find_open_pin_challenge(link.token_hash);
        st.pin_sent = open && *open && (*open)->id == it->second;
      }
      ctx_.logger.info("portal_pin_rate_limited", {{"message", m.id}});
      return landing_page(link, st, 429);
    }
    const unsigned minutes = static_cast<unsigned>(std::max<std::int64_t>(1, cfg_.unlock.pin.ttl.count() / 60));
    auto text = sms::render_pin_text(cfg_.sms, lang_, pin, minutes, cfg_.instance.name);
    crypto::secure_wipe(pin);
    if (!text) {
      crypto::secure_wipe(*phone);
      return server_error("sms_text", text.error());
    }
    const auto sent = ctx_.sms->send(sms::SmsMessage{*phone, *text, challenge.id.substr(0, 16)});
    crypto::secure_wipe(*phone);
    crypto::secure_wipe(*text);
    if (!sent) {
      ctx_.logger.warning("portal_sms_failed", {{"message", m.id}, {"sender", ctx_.sms->name()},
                                                {"retryable", sent.failure().retryable}, {"error", sent.failure().reason}});
      audit("unlock.sms", link, "failed", {{"driver", std::string(ctx_.sms->name())}});
      st.sms_failed = true;
      return landing_page(link, st, 502);
    }
    ctx_.logger.info("portal_pin_sent", {{"message", m.id}, {"sender", ctx_.sms->name()}});
    audit("unlock.sms", link, "ok", {{"driver", std::string(ctx_.sms->name())}});
    session_->data.challenges[link.token_hex] = challenge.id;
    if (auto s = keeper().save(*session_); !s) return server_error("session", s.error());
    st.pin_sent = true;
    return landing_page(link, st);
  }

  // Tells the sender; a failure is logged, the recipient's page goes on.
  void notify_sender(const Link& link, SenderNotice notice) {
    std::string tail;
    if (link.meta.unlock.kind == store::UnlockKind::phone) {
      auto phone = open_phone(link.meta);
      if (phone) {
        tail = i18n::phone_tail(*phone);
        crypto::secure_wipe(*phone);
      }
    }
    if (auto s = queue_sender_notice(ctx_, link.meta, link.record, notice, tail); !s) {
      ctx_.logger.error("portal_sender_notice_failed", {{"message", link.meta.id}, {"error", s.error().message}});
    }
  }

  // POST /m/{token}/no-pin: "I did not get the code" tells the sender, once per session and link,
  // and only after this session ordered a code.
  Response pin_missing(const Route& r) {
    auto p = posted(r);
    if (p.early) return std::move(*p.early);
    const Link& link = *p.link;
    if (link.meta.unlock.kind != store::UnlockKind::phone) return landing_page(link, {}, 400);
    LandingState st;
    const auto challenge = session_->data.challenges.find(link.token_hex);
    if (challenge == session_->data.challenges.end()) return landing_page(link, st, 409);
    st.pin_sent = true;
    auto& notices = session_->data.notices;
    if (std::find(notices.begin(), notices.end(), link.token_hex) == notices.end()) {
      notify_sender(link, SenderNotice::pin_missing);
      notices.push_back(link.token_hex);
      if (notices.size() > max_grants) notices.erase(notices.begin());
      if (auto s = keeper().save(*session_); !s) return server_error("session", s.error());
    }
    return landing_page(link, st);
  }

  // Grants the link to the session under a new session id, then shows the message.
  Response unlocked(const Link& link) {
    session_->data.grant(link.token_hex);
    session_->data.challenges.erase(link.token_hex);
    auto rotated = keeper().rotate(*session_);
    if (!rotated) return server_error("session", rotated.error());
    session_ = std::move(*rotated);
    return redirect(link.base + "/read?lang=" + config::to_string(lang_));
  }

  // ---- strong identification ------------------------------------------------------------------

  // GET /auth/jwks.json: our public keys for the providers.
  Response jwks() {
    Response res;
    res.status = 200;
    res.set("Content-Type", "application/json");
    res.set("Cache-Control", "public, max-age=300");
    res.body = ctx_.oidc != nullptr ? ctx_.oidc->public_jwks() : std::string(R"({"keys":[]})");
    return res;
  }

  // GET /auth/{provider}/start[?m=TOKEN]: keeps a new sign-in in the session and sends the browser
  // to the provider. Changes no message (a link scanner following it only starts a sign-in).
  Response auth_start(const Route& r) {
    auth::RelyingParty* rp = ctx_.oidc != nullptr ? ctx_.oidc->find(r.token) : nullptr;
    if (rp == nullptr) return error_page(404, "not_found");
    if (auto e = load_session(true)) return server_error("session", *e);
    const auto query = parse_form(req_.query());
    std::string return_to = "/";
    if (const auto m = query.find("m"); m != query.end() && !m->second.empty()) {
      const Route target = route("GET", "/m/" + m->second);
      if (target.kind != RouteKind::landing) return error_page(400, "bad_request");
      return_to = "/m/" + target.token;
    } else if (const auto next = query.find("next"); next != query.end()) {
      // Other local pages (/new, /threads, /staff/...): a path of ours, never a URL elsewhere.
      const std::string& n = next->second;
      const bool local = n.size() <= 512 && n.starts_with('/') && !n.starts_with("//") &&
                         n.find_first_of("\\\r\n") == std::string::npos;
      if (!local) return error_page(400, "bad_request");
      return_to = n;
    }
    auto started = rp->begin(return_to);
    if (!started) {
      ctx_.logger.error("auth_start_failed", {{"provider", r.token}, {"error", started.error().message}});
      return error_page(502, "auth_unavailable");
    }
    session_->data.auth = started->pending;
    if (auto s = keeper().save(*session_); !s) return server_error("session", s.error());
    ctx_.logger.info("auth_started", {{"provider", r.token}});
    return redirect(started->url);
  }

  // The browser came back from the provider without our session cookie (a SameSite=Strict cookie
  // is not sent on a navigation another site started): one same-site step (a meta refresh, no
  // script) makes it send the cookie.
  Response same_site_step() {
    std::string target = req_.target;
    target += target.find('?') == std::string::npos ? "?" : "&";
    target += "resumed=1";
    std::string escaped;
    for (const char c : target) {
      if (c == '&') escaped += "&amp;";
      else if (c == '"') escaped += "&quot;";
      else if (c == '<') escaped += "&lt;";
      else if (c == '>') escaped += "&gt;";
      else escaped += c;
    }
    const std::string lang = config::to_string(lang_);
    Response res = html_response(200, "<!DOCTYPE html>\n<html lang=\"" + lang + "\"><head><meta charset=\"utf-8\">"
                                 "<meta http-equiv=\"refresh\" content=\"0;url=" + escaped + "\"><title>Sinetti</title></head>"
                                 "<body><main><p><a href=\"" + escaped + "\">" +
                                 (lang == "fi" ? "Jatka" : lang == "sv" ? "Fortsätt" : "Continue") +
                                 "</a></p></main></body></html>\n");
    res.set("Cache-Control", "no-store");
    return res;
  }

  // GET /auth/{provider}/callback?code=…&state=…
  Response auth_callback(const Route& r) {
    auth::RelyingParty* rp = ctx_.oidc != nullptr ? ctx_.oidc->find(r.token) : nullptr;
    if (rp == nullptr) return error_page(404, "not_found");
    const auto query = parse_form(req_.query());
    if (auto e = load_session(false)) return server_error("session", *e);
    if (!session_) {
      if (!query.contains("resumed")) return same_site_step();
      return error_page(403, "session");
    }
    if (!session_->data.auth) return error_page(403, "session");
    // Single use: the sign-in leaves the session before anything is checked.
    const auth::Pending pending = *session_->data.auth;
    session_->data.auth.reset();
    if (auto s = keeper().save(*session_); !s) return server_error("session", s.error());

    auth::Callback cb;
    auto value = [&](const char* k) {
      const auto it = query.find(k);
      return it != query.end() ? it->second : std::string();
    };
    cb.code = value("code");
    cb.state = value("state");
    cb.error = value("error");
    cb.iss = value("iss");
    auto identity_secret = ctx_.ring.server_secret("identity");
    if (!identity_secret) return server_error("identity", identity_secret.error());
    const auto expires = now_ts(ctx_.clock) + std::chrono::hours(24);
    auth::OnceGuard once = [&](store::OnceKind kind, std::string_view v) {
      auto first = ctx_.store.use_once(kind, hash_of_token(v), expires);
      return first && *first;  // a store failure counts as seen: refuse rather than risk a replay
    };
    auto identity = rp->complete(pending, cb, once, *identity_secret);
    std::optional<Link> link;
    if (pending.return_to.starts_with("/m/")) {
      auto found = resolve(pending.return_to.substr(3));
      if (!found) return server_error("token", found.error());
      if (*found && !(*found)->team) link = std::move(**found);  // a team link opens on /staff/m/ only
    }
    if (!identity) {
      const auto reason = auth::reason_of(identity.error());
      ctx_.logger.warning("auth_refused", {{"provider", r.token}, {"reason", reason}});
      if (link && link->meta.unlock.kind == store::UnlockKind::identity) {
        audit("unlock.identity", *link, "refused", {{"provider", r.token}, {"reason", reason}});
      }
      return error_page(403, "auth_failed", {{"back", pending.return_to == "/" ? std::string() : pending.return_to}});
    }
    auto rotated = keeper().identify(*session_, *identity);
    if (!rotated) return server_error("session", rotated.error());
    session_ = std::move(*rotated);
    ctx_.logger.info("auth_identified", {{"provider", r.token}, {"kind", identity->is_citizen() ? "citizen" : "staff"}});
    if (identity->is_staff()) remember_staff(*identity);
    if (!link) return redirect(pending.return_to);
    if (link->meta.unlock.kind != store::UnlockKind::identity) return redirect(link->base + "?lang=" + config::to_string(lang_));
    if (link->meta.state == store::MessageState::locked) return landing_page(*link, {}, 403);
    if (!identity->matches_identity_key(link->meta.unlock.identity_hash)) {
      ctx_.logger.info("portal_unlock", {{"message", link->meta.id}, {"method", "identity"}, {"outcome", "mismatch"}});
      audit("unlock.identity", *link, "mismatch", {{"provider", r.token}});
      LandingState st;
      st.identity_mismatch = true;
      return landing_page(*link, st, 403);
    }
    ctx_.logger.info("portal_unlock", {{"message", link->meta.id}, {"method", "identity"}, {"outcome", "ok"}});
    audit("unlock.identity", *link, "ok", {{"provider", r.token}, {"acr", identity->acr}});
    session_->data.grant(link->token_hex);
    if (auto s = keeper().save(*session_); !s) return server_error("session", s.error());
    return redirect(link->base + "/read?lang=" + config::to_string(lang_));
  }

  // POST /m/{token}/unlock: the PIN (sms) or the device confirmation (letter).
  Response unlock(const Route& r) {
    auto p = posted(r);
    if (p.early) return std::move(*p.early);
    const Link& link = *p.link;
    const auto& m = link.meta;
    if (m.state == store::MessageState::locked) return landing_page(link, {}, 403);
    switch (m.unlock.kind) {
      case store::UnlockKind::phone: return unlock_pin(link, p.form);
      case store::UnlockKind::device: return unlock_device(link);
      default:
        // personal: strong identification is not available yet; the attempt is still recorded.
        audit("unlock.identity", link, "unavailable");
        return landing_page(link, {}, 403);
    }
  }

  Response unlock_pin(const Link& link, const std::map<std::string, std::string, std::less<>>& form) {
    LandingState st;
    std::string pin;
    if (const auto it = form.find("pin"); it != form.end()) {
      for (const char c : it->second) {
        if (c != ' ' && c != '-') pin += c;
      }
    }
    const auto challenge = session_->data.challenges.find(link.token_hex);
    if (challenge == session_->data.challenges.end()) {
      st.pin_void = true;
      return landing_page(link, st, 422);
    }
    const bool digits = !pin.empty() && std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || pin.size() != cfg_.unlock.pin.length) {
      st.pin_sent = true;
      st.error_format = true;
      return landing_page(link, st, 422);
    }
    auto secret = ctx_.ring.server_secret("pin-mac");
    if (!secret) return server_error("pin", secret.error());
    const auto mac = crypto::pin_mac(*secret, pin_context(challenge->second, link.token_hex), pin);
    crypto::secure_wipe(pin);
    auto attempt = ctx_.store.attempt_pin(challenge->second, store::Bytes(mac.begin(), mac.end()), pin_limits(cfg_), "client");
    if (!attempt) return server_error("pin", attempt.error());
    ctx_.logger.info("portal_unlock", {{"message", link.meta.id}, {"method", "pin"}, {"outcome", store::to_string(attempt->verdict)}});
    switch (attempt->verdict) {
      case store::PinVerdict::accepted:
        return unlocked(link);
      case store::PinVerdict::wrong:
        if (attempt->failures >= cfg_.unlock.pin.max_failures) {
          notify_sender(link, SenderNotice::locked);  // this try locked the message
          break;
        }
        if (attempt->attempts_left == 0) break;
        st.pin_sent = true;
        st.error_wrong = true;
        st.attempts_left = attempt->attempts_left;
        return landing_page(link, st, 422);
      case store::PinVerdict::locked: {
        auto relinked = resolve(link.token);
        if (relinked && *relinked) return landing_page(**relinked, {}, 403);
        return not_found_link();
      }
      default:
        break;
    }
    // The challenge cannot be used any more (expired, used, exhausted) or the message just locked.
    session_->data.challenges.erase(link.token_hex);
    if (auto s = keeper().save(*session_); !s) return server_error("session", s.error());
    auto relinked = resolve(link.token);
    if (!relinked) return server_error("token", relinked.error());
    if (!*relinked) return not_found_link();
    st = {};
    st.pin_void = (*relinked)->meta.state != store::MessageState::locked;
    return landing_page(**relinked, st, (*relinked)->meta.state == store::MessageState::locked ? 403 : 422);
  }

  Response unlock_device(const Link& link) {
    if (device_bound(link)) {
      ctx_.logger.info("portal_unlock", {{"message", link.meta.id}, {"method", "device"}, {"outcome", "known_device"}});
      return unlocked(link);
    }
    std::string id = device_id().value_or(new_device_id());
    const bool new_cookie = !device_id();
    store::DeviceBinding binding;
    binding.token_hash = link.token_hash;
    binding.device_hash = hash_of_token(id);
    binding.message_id = link.meta.id;
    nlohmann::json details = {{"recipient_index", link.record.recipient_index}};
    auto bound = ctx_.store.bind_device(binding, {{"unlock.device", link.meta.id, "client", "ok", details.dump()}});
    if (!bound) return server_error("device", bound.error());
    if (!*bound) {
      // Another device confirmed first: a sealed letter opens on that one only.
      audit("unlock.device", link, "denied");
      ctx_.logger.info("portal_unlock", {{"message", link.meta.id}, {"method", "device"}, {"outcome", "other_device"}});
      LandingState st;
      st.device_taken = true;
      return landing_page(link, st, 403);
    }
    ctx_.logger.info("portal_unlock", {{"message", link.meta.id}, {"method", "device"}, {"outcome", "accepted"}});
    if (new_cookie) device_cookie_ = id;
    return unlocked(link);
  }

  // ---- reading -------------------------------------------------------------------------------------

  // The gate of /read and /attachment: a session that unlocked this link (or, for a letter, the
  // device that confirmed it). Otherwise back to the landing page.
  struct Opened {
    std::optional<Link> link;
    std::optional<Response> early;
  };

  Opened open_for_reading(const Route& r, bool create_session = false) {
    Opened o;
    if (auto e = load_session(create_session)) {
      o.early = server_error("session", *e);
      return o;
    }
    auto link = resolve(r.token);
    if (!link) {
      o.early = server_error("token", link.error());
      return o;
    }
    if (!*link) {
      o.early = not_found_link();
      return o;
    }
    if ((*link)->team) {
      o.early = redirect(staff_base(r.token) + "?lang=" + config::to_string(lang_));
      return o;
    }
    if (!granted(**link)) {
      o.early = redirect("/m/" + r.token + "?lang=" + config::to_string(lang_));
      return o;
    }
    o.link = std::move(**link);
    return o;
  }

  Result<mime::Message> read_message(const Link& link, std::size_t max_text) {
    auto reader = sealed::ContentReader::open(ctx_.store, link.meta, ctx_.ring);
    if (!reader) return reader.error();
    mime::Limits limits;
    limits.max_text_bytes = max_text;
    return mime::read_message_source(*reader, limits);
  }

  // The images an HTML body refers to by Content-ID, as data: URIs (inline images only: image
  // types from the safe list, at most max_inline_image bytes each and max_inline_images in all).
  std::map<std::string, std::string> inline_images(const Link& link, const mime::Message& message,
                                                   const std::set<std::string>& wanted) {
    std::map<std::string, std::string> out;
    std::map<std::size_t, std::string> parts;  // part index → cid
    for (const auto& part : message.parts) {
      std::string cid = part.content_id;
      if (cid.size() >= 2 && cid.front() == '<' && cid.back() == '>') cid = cid.substr(1, cid.size() - 2);
      if (cid.empty() || !wanted.contains(cid)) continue;
      const auto& t = part.content_type;
      if (t != "image/png" && t != "image/jpeg" && t != "image/gif" && t != "image/webp") continue;
      if (part.decoded_size > max_inline_image) continue;
      parts.emplace(part.index, cid);
    }
    if (parts.empty()) return out;
    auto reader = sealed::ContentReader::open(ctx_.store, link.meta, ctx_.ring);
    if (!reader) return out;
    mime::Limits limits;
    limits.max_text_bytes = metadata_text_bytes;
    std::size_t total = 0;
    std::vector<char> buffer(download_piece);
    auto walked = mime::for_each_part_source(*reader, limits, [&](const mime::Part& part, mime::PartContent& content) {
      const auto it = parts.find(part.index);
      if (it == parts.end()) return true;
      std::string bytes;
      for (;;) {
        const std::size_t n = content.read(buffer);
        if (n == 0) break;
        bytes.append(buffer.data(), n);
        if (bytes.size() > max_inline_image) return true;  // larger than declared: skip it
      }
      total += bytes.size();
      if (total > max_inline_images) return false;
      out.emplace(it->second, "data:" + part.content_type + ";base64," + base64_encode(bytes));
      return true;
    });
    if (!walked) ctx_.logger.warning("portal_inline_images_failed", {{"message", link.meta.id}, {"error", walked.error().message}});
    return out;
  }

  struct ReplyState {
    bool replied = false;
    bool error_empty = false;
    bool error_long = false;
    bool error_encoding = false;
    bool error_files = false;
    std::string text;  // kept in the form after an error
  };

  Response read(const Route& r) {
    // A session for the reply form's CSRF token (a letter may open by its device cookie alone).
    auto o = open_for_reading(r, true);
    if (o.early) return std::move(*o.early);
    ReplyState st;
    const auto query = parse_form(req_.query());
    st.replied = query.contains("replied");
    return read_page(*o.link, st, 200);
  }

  Response read_page(const Link& link, const ReplyState& reply, int status) {
    auto message = read_message(link, mime::Limits{}.max_text_bytes);
    if (!message) return server_error("read", message.error());
    const auto marks = routing::parse_message_marks(*message, cfg_.routing.marks, cfg_.sms.default_country);
    const std::string subject = marks.subject_tag ? marks.subject : message->subject;
    // As mail clients do: the HTML alternative when there is one, else the plain text.
    const mime::TextBody* plain = nullptr;
    const mime::TextBody* html = nullptr;
    for (const auto& t : message->texts) {
      if (t.content_type == "text/plain" && plain == nullptr) plain = &t;
      if (t.content_type == "text/html" && html == nullptr) html = &t;
    }
    std::optional<SanitizedHtml> sanitized;
    if (html != nullptr) {
      std::set<std::string> wanted;
      const auto record = [&](std::string_view cid) -> std::optional<std::string> {
        wanted.emplace(cid);
        return std::nullopt;
      };
      sanitized = sanitize_html(html->text, record);
      if (sanitized && !wanted.empty()) {
        const auto images = inline_images(link, *message, wanted);
        sanitized = sanitize_html(html->text, [&](std::string_view cid) -> std::optional<std::string> {
          const auto it = images.find(std::string(cid));
          if (it == images.end()) return std::nullopt;
          return it->second;
        });
      }
    }
    const mime::TextBody* body = sanitized ? html : plain != nullptr ? plain : html;
    if (body == nullptr && !message->texts.empty()) body = &message->texts.front();
    std::vector<TemplateMap> attachments;
    for (std::size_t i = 0; i < message->attachments.size(); ++i) {
      const auto& part = message->attachments[i].part;
      std::string cid = part.content_id;
      if (cid.size() >= 2 && cid.front() == '<' && cid.back() == '>') cid = cid.substr(1, cid.size() - 2);
      if (sanitized && !cid.empty() && sanitized->used_cids.contains(cid)) continue;  // shown in the text
      attachments.push_back({{"href", link.base + "/attachment/" + std::to_string(i)},
                             {"name", part.filename.empty() ? "attachment-" + std::to_string(i + 1) : part.filename},
                             {"type", part.content_type},
                             {"size", format_size(part.decoded_size, lang_)}});
    }
    const auto from = message->header("From");
    const auto when = link.meta.stored.value_or(link.meta.created);
    TemplateMap v = {{"subject", subject},
                     {"sender", from ? std::string(*from) : link.meta.sender},
                     {"team", team_name(link.meta)},
                     {"date", i18n::format_date(std::chrono::system_clock::time_point(when), lang_)},
                     {"srcdoc", sanitized ? frame_document(*sanitized, config::to_string(lang_)) : std::string()},
                     {"remote_images_blocked", sanitized && sanitized->remote_images_blocked},
                     {"body_html", body && !sanitized ? linkify_text(body->text) : std::string()},
                     {"html_as_text", body != nullptr && !sanitized && body->content_type != "text/plain"},
                     {"truncated", body != nullptr && body->truncated},
                     {"has_attachments", !attachments.empty()},
                     {"attachments", std::move(attachments)},
                     {"base", link.base},
                     {"csrf", csrf()},
                     {"can_reply", !link.meta.sender.empty()},
                     {"max_files", std::to_string(max_reply_files)},
                     {"replied", reply.replied},
                     {"reply_text", reply.text},
                     {"text_error", reply.error_empty || reply.error_long || reply.error_encoding},
                     {"error_empty", reply.error_empty},
                     {"error_long", reply.error_long},
                     {"error_encoding", reply.error_encoding},
                     {"files_error", reply.error_files}};
    if (status == 200) {
      audit("message.viewed", link, "ok");
      ctx_.logger.info("portal_viewed", {{"message", link.meta.id}});
    }
    auto res = page(status, "read", std::move(v));
    // The frame inherits the page's policy; it needs inline styles and data: images.
    if (sanitized) res.set("Content-Security-Policy", std::string(framed_page_csp));
    return res;
  }

  Response attachment(const Route& r);
  Response send_attachment(const Link& link, const Route& r);

  // The reply form's text and files, checked (read page's reply section).
  struct ReplyForm {
    ReplyState state;
    std::string text;
    std::vector<const FormPart*> files;
    bool ok() const { return !(state.error_empty || state.error_long || state.error_encoding || state.error_files); }
  };

  static ReplyForm reply_form(const Posted& p) {
    ReplyForm out;
    ReplyState& st = out.state;
    std::string& text = out.text;
    if (const auto it = p.form.find("text"); it != p.form.end()) text = it->second;
    // Browsers send CRLF; keep the text as typed otherwise.
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.pop_back();
    for (const auto& f : p.files) {
      if (f.filename && !f.filename->empty() && !f.data.empty()) out.files.push_back(&f);
    }
    st.text = text.size() <= max_reply_text ? text : std::string();
    st.error_empty = std::all_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
    st.error_long = text.size() > max_reply_text;
    st.error_encoding = !st.error_empty && !st.error_long && !mime::text::is_valid_utf8(text);
    st.error_files = out.files.size() > max_reply_files;
    if (st.error_encoding) st.text.clear();
    return out;
  }

  // A file of the reply form as a mail attachment: the base name, a plausible type or octet-stream.
  static mime::OutgoingAttachment reply_attachment(const FormPart& f) {
    std::string name = *f.filename;
    if (const auto slash = name.find_last_of("/\\"); slash != std::string::npos) name = name.substr(slash + 1);
    if (name.size() > 255 || !mime::text::is_valid_utf8(name)) name = "attachment";
    const std::string& t = f.content_type;
    const bool plausible = t.find('/') != std::string::npos && t.size() < 128 &&
                           std::all_of(t.begin(), t.end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("/.+-_").find(c) != std::string_view::npos;
                           });
    return {name, plausible ? t : "application/octet-stream", std::string(f.data)};
  }

  // POST /m/{token}/reply: the recipient's reply (text and files) goes to the staff address the
  // message came from, sealed in the store until delivered, bound to the message's thread.
  Response reply(const Route& r) {
    auto p = posted(r);
    if (p.early) return std::move(*p.early);
    const Link& link = *p.link;
    if (!granted(link)) return redirect(link.base + "?lang=" + config::to_string(lang_));
    if (link.meta.sender.empty()) return read_page(link, {}, 409);
    ReplyForm form = reply_form(p);
    if (!form.ok()) return read_page(link, form.state, 422);
    const std::string& text = form.text;
    const std::vector<const FormPart*>& files = form.files;

    auto original = read_message(link, metadata_text_bytes);
    if (!original) return server_error("reply", original.error());
    const auto marks = routing::parse_message_marks(*original, cfg_.routing.marks, cfg_.sms.default_country);
    const std::string subject = marks.subject_tag ? marks.subject : original->subject;
    std::string in_reply_to(original->header("Message-ID").value_or(""));
    while (!in_reply_to.empty() && (in_reply_to.front() == '<' || in_reply_to.front() == ' ')) in_reply_to.erase(0, 1);
    while (!in_reply_to.empty() && (in_reply_to.back() == '>' || in_reply_to.back() == ' ')) in_reply_to.pop_back();
    if (in_reply_to.find_first_of("\r\n<> ") != std::string::npos) in_reply_to.clear();

    const auto now = ctx_.clock.now();
    const std::string id = ingest::new_message_id(ctx_.clock);
    std::string host = cfg_.public_host();
    if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
    mime::OutgoingText mail;
    mail.from = {link.record.recipient + " (" + cfg_.instance.name + ")", cfg_.notification_from()};
    mail.to = {{"", link.meta.sender}};
    mail.subject = subject.empty() ? "Re:" : subject.starts_with("Re:") ? subject : "Re: " + subject;
    for (char& c : mail.subject) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    mail.body = text + "\n";
    mail.message_id = id + "@" + host;
    mail.in_reply_to = in_reply_to;
    mail.date = now;
    mail.language = config::to_string(lang_);
    mail.headers = {{"X-Sinetti-Reply", link.meta.id}, {"Auto-Submitted", "no"}};
    std::uint64_t file_bytes = 0;
    for (const FormPart* f : files) {
      mail.attachments.push_back(reply_attachment(*f));
      file_bytes += f->data.size();
    }
    auto composed = mime::compose_text(mail);
    if (!composed) return server_error("reply", composed.error());

    auto key = crypto::DataKey::generate();
    store::MessageMeta rm;
    rm.id = id;
    rm.kind = store::MessageKind::spool;
    rm.recipients = {link.meta.sender};
    rm.team_id = link.meta.team_id;
    rm.thread_id = link.meta.thread_id.empty() ? link.meta.id : link.meta.thread_id;
    rm.language = config::to_string(lang_);
    rm.size = composed->size();
    rm.expires = store::to_timestamp(now) + cfg_.delivery.lifetime + std::chrono::hours(24);
    rm.wrapped_key = ctx_.ring.wrap(key, id);
    rm.kek_id = ctx_.ring.active_kek();
    store::CommitBatch batch;
    batch.messages.push_back(store::MessageCommit{id, rm, sealed::seal_pieces(key, id, *composed), composed->size()});
    crypto::secure_wipe(*composed);
    store::QueueEntry q;
    q.message_id = id;
    q.recipient = link.meta.sender;
    q.kind = store::DeliveryKind::reply;
    batch.queue.push_back(q);
    batch.audit.push_back({"message.replied", link.meta.id, "client", "ok",
                           nlohmann::json{{"reply", id}, {"recipient_index", link.record.recipient_index},
                                          {"attachments", files.size()}, {"bytes", text.size() + file_bytes}}.dump()});
    if (auto c = ctx_.store.commit(std::move(batch)); !c) return server_error("reply", c.error());
    ctx_.logger.info("portal_reply", {{"message", link.meta.id}, {"reply", id}, {"attachments", files.size()}});
    return redirect(link.base + "/read?lang=" + std::string(config::to_string(lang_)) + "&replied=1");
  }

  // ---- client-initiated messages: /new and /threads -------------------------------------------
  // A strongly identified citizen (the session's identity, kind citizen) writes to a team and
  // comes back to their own threads. Without one, every page offers identification and changes
  // nothing; a thread is found only through the identity key it is bound to, so another
  // identity's thread is the same 404 as an unknown one.

  const auth::Identity* citizen() const {
    if (!session_ || !session_->identity || !session_->identity->is_citizen()) return nullptr;
    if (session_->identity->identity_key.empty()) return nullptr;
    return &*session_->identity;
  }

  std::string lang_query() const { return "?lang=" + std::string(config::to_string(lang_)); }

  // The page that explains and offers the citizen providers; back to `next` after identifying.
  Response identify_page(const std::string& next, bool for_threads) {
    std::vector<TemplateMap> providers;
    if (ctx_.oidc != nullptr) {
      for (const auto* p : ctx_.oidc->of_kind(config::ProviderKind::citizen)) {
        const auto name = p->name.find(lang_);
        providers.push_back({{"href", "/auth/" + p->id + "/start?next=" + percent_encode(next + lang_query()) +
                                          "&lang=" + config::to_string(lang_)},
                             {"name", name != p->name.end() ? name->second : p->id}});
      }
    }
    const bool staff = session_ && session_->identity && session_->identity->is_staff();
    TemplateMap v = {{"for_new", !for_threads},
                     {"for_threads", for_threads},
                     {"staff_signed_in", staff},
                     {"identify_available", !providers.empty()},
                     {"providers", std::move(providers)}};
    return page(200, "client-identify", std::move(v));
  }

  // A client POST's fields and files, the session, and its CSRF token (posted_form).
  using ClientForm = Posted;

  // The draft from a posted form: text trimmed, only file fields that carry a file.
  static ClientDraft draft_of(const ClientForm& f) {
    ClientDraft d;
    const auto value = [&](const char* k) {
      const auto it = f.form.find(k);
      return it != f.form.end() ? it->second : std::string();
    };
    d.team_id = value("team");
    d.subject = trim_trailing_space(value("subject"));
    while (!d.subject.empty() && (d.subject.front() == ' ' || d.subject.front() == '\t')) d.subject.erase(0, 1);
    d.text = trim_trailing_space(value("text"));
    d.address = trim_trailing_space(value("address"));
    while (!d.address.empty() && (d.address.front() == ' ' || d.address.front() == '\t')) d.address.erase(0, 1);
    for (const auto& file : f.files) {
      if (file.filename && !file.filename->empty() && !file.data.empty()) d.files.push_back(&file);
    }
    return d;
  }

  // The draft's values for a form shown again (text that could not be used is not shown again).
  void draft_values(TemplateMap& v, const ClientDraft& d, const DraftErrors& e) {
    v.insert_or_assign("csrf", csrf());
    v.insert_or_assign("max_files", std::to_string(max_client_files));
    v.insert_or_assign("max_size", format_size(cfg_.portal.max_body_size, lang_));
    v.insert_or_assign("max_subject", std::to_string(max_client_subject));
    v.insert_or_assign("subject", e.subject_long || e.subject_encoding ? std::string() : d.subject);
    v.insert_or_assign("text", e.text_long || e.text_encoding ? std::string() : d.text);
    v.insert_or_assign("has_errors", e.any());
    v.insert_or_assign("team_error", e.team_unknown);
    v.insert_or_assign("subject_error", e.subject());
    v.insert_or_assign("subject_empty", e.subject_empty);
    v.insert_or_assign("subject_long", e.subject_long);
    v.insert_or_assign("subject_encoding", e.subject_encoding);
    v.insert_or_assign("text_error", e.text());
    v.insert_or_assign("text_empty", e.text_empty);
    v.insert_or_assign("text_long", e.text_long);
    v.insert_or_assign("text_encoding", e.text_encoding);
    v.insert_or_assign("files_error", e.files());
    v.insert_or_assign("files_many", e.files_many);
    v.insert_or_assign("files_large", e.files_large);
    v.insert_or_assign("max_address", std::to_string(max_client_address));
    v.insert_or_assign("address", e.address_invalid ? std::string() : d.address);
    v.insert_or_assign("address_error", e.address());
    v.insert_or_assign("address_invalid", e.address_invalid);
    v.insert_or_assign("address_ours", e.address_ours);
  }

  Response new_page(const ClientDraft& d, const DraftErrors& e, int status) {
    std::vector<TemplateMap> teams;
    for (const auto& t : cfg_.teams) {
      teams.push_back({{"id", t.id}, {"name", team_display_name(t, lang_)}, {"selected", t.id == d.team_id}});
    }
    TemplateMap v = {{"teams", std::move(teams)}, {"none_selected", cfg_.find_team(d.team_id) == nullptr}};
    draft_values(v, d, e);
    return page(status, "new", std::move(v));
  }

  // GET /new: identification first, then the form. Changes nothing.
  Response new_form() {
    if (auto e = load_session(false)) return server_error("session", *e);
    if (citizen() == nullptr) return identify_page("/new", false);
    return new_page({}, {}, 200);
  }

  // POST /new: a sealed message to the team in a new thread bound to the client's identity.
  Response new_submit() {
    auto f = posted_form(RouteKind::new_submit, "/new");
    if (f.early) return std::move(*f.early);
    const auth::Identity* client = citizen();
    if (client == nullptr) return redirect("/new" + lang_query());
    const ClientDraft d = draft_of(f);
    const DraftErrors e = check_draft(cfg_, d, true);
    if (e.any()) return new_page(d, e, 422);
    const config::Team* team = cfg_.find_team(d.team_id);
    auto built = build_client_message(ctx_, *team, nullptr, *client, lang_, d);
    if (!built) return server_error("client_message", built.error());
    const std::string id = built->message_id;
    const std::string thread = built->thread_id;
    if (auto c = ctx_.store.commit(std::move(built->batch)); !c) return server_error("client_message", c.error());
    ctx_.logger.info("portal_client_message", {{"message", id}, {"thread", thread}, {"team", team->id},
                                               {"attachments", d.files.size()}, {"new_thread", true}});
    return redirect("/threads/" + thread + "/sent/" + id + lang_query());
  }

  // The identified client's thread `id`, or nothing (unknown and someone else's alike).
  Result<std::optional<store::Thread>> own_thread(const std::string& id) {
    const auth::Identity* client = citizen();
    if (client == nullptr) return std::optional<store::Thread>();
    auto found = ctx_.store.find_thread(id);
    if (!found) return found.error();
    if (!*found || (*found)->client_identity.empty() || !client->matches_identity_key((*found)->client_identity)) {
      return std::optional<store::Thread>();
    }
    return found;
  }

  bool thread_live(const store::Thread& t) const {
    return t.state == store::ThreadState::open && (!t.expires || *t.expires > now_ts(ctx_.clock));
  }

  // A staff reply bound to the client's identity, or what the client wrote in the portal.
  bool client_may_read(const store::MessageMeta& m) const {
    if (m.kind != store::MessageKind::protected_message || store::is_shredded(m.state) || !m.wrapped_key) return false;
    if (m.state == store::MessageState::locked) return false;
    if (m.unlock.kind == store::UnlockKind::identity) {
      const auth::Identity* client = citizen();
      return client != nullptr && client->matches_identity_key(m.unlock.identity_hash);
    }
    return written_by_client(cfg_, m);
  }

  static bool from_team(const store::MessageMeta& m) {
    return m.kind == store::MessageKind::protected_message && m.unlock.kind == store::UnlockKind::identity;
  }

  std::string team_of(const store::Thread& t) const {
    const config::Team* team = cfg_.find_team(t.team_id);
    return team != nullptr ? team_display_name(*team, lang_) : t.team_id;
  }

  std::string when(store::Timestamp t) const {
    return i18n::format_date(std::chrono::system_clock::time_point(t), lang_);
  }

  // GET /threads: the identified client's own threads, newest first.
  Response threads() {
    if (auto e = load_session(false)) return server_error("session", *e);
    const auth::Identity* client = citizen();
    if (client == nullptr) return identify_page("/threads", true);
    auto list = ctx_.store.threads_for_identity(client->identity_key, max_listed_threads);
    if (!list) return server_error("threads", list.error());
    std::vector<TemplateMap> rows;
    for (const auto& t : *list) {
      auto messages = ctx_.store.thread_messages(t.id, max_thread_messages);
      if (!messages) return server_error("threads", messages.error());
      store::Timestamp last = t.created;
      for (const auto& m : *messages) last = std::max(last, m.stored.value_or(m.created));
      const bool live = thread_live(t);
      rows.push_back({{"href", "/threads/" + t.id + lang_query()},
                      {"team", team_of(t)},
                      {"started", when(t.created)},
                      {"last", when(last)},
                      {"count", std::to_string(messages->size())},
                      {"open", live},
                      {"closed", !live}});
    }
    TemplateMap v = {{"has_threads", !rows.empty()}, {"threads", std::move(rows)}};
    return page(200, "threads", std::move(v));
  }

  // One message of a thread as the thread page shows it; readable ones with their text.
  Result<TemplateMap> thread_entry(const store::Thread& t, const store::MessageMeta& m) {
    const bool readable = client_may_read(m);
    TemplateMap e = {{"date", when(m.stored.value_or(m.created))},
                     {"from_team", from_team(m)},
                     {"from_client", !from_team(m)},
                     {"team", team_of(t)},
                     {"ref", m.id},
                     {"readable", readable}};
    if (!readable) return e;
    auto reader = sealed::ContentReader::open(ctx_.store, m, ctx_.ring);
    if (!reader) return reader.error();
    auto message = mime::read_message_source(*reader, mime::Limits{});
    if (!message) return message.error();
    const mime::TextBody* body = nullptr;
    for (const auto& text : message->texts) {
      if (text.content_type == "text/plain") {
        body = &text;
        break;
      }
    }
    if (body == nullptr && !message->texts.empty()) body = &message->texts.front();
    std::vector<TemplateMap> attachments;
    for (std::size_t i = 0; i < message->attachments.size(); ++i) {
      const auto& part = message->attachments[i].part;
      attachments.push_back({{"href", "/threads/" + t.id + "/attachment/" + m.id + "/" + std::to_string(i)},
                             {"name", part.filename.empty() ? "attachment-" + std::to_string(i + 1) : part.filename},
                             {"type", part.content_type},
                             {"size", format_size(part.decoded_size, lang_)}});
    }
    e.insert_or_assign("subject", message->subject);
    e.insert_or_assign("body_html", body != nullptr ? linkify_text(body->text) : std::string());
    e.insert_or_assign("html_as_text", body != nullptr && body->content_type != "text/plain");
    e.insert_or_assign("truncated", body != nullptr && body->truncated);
    e.insert_or_assign("has_attachments", !attachments.empty());
    e.insert_or_assign("attachments", std::move(attachments));
    auto s = ctx_.store.append_audit({{"message.viewed", m.id, "client", "ok", nlohmann::json{{"via", "thread"}, {"thread", t.id}}.dump()}});
    if (!s) ctx_.logger.error("portal_audit_failed", {{"message", m.id}, {"error", s.error().message}});
    return e;
  }

  Response thread_page(const store::Thread& t, const ClientDraft& d, const DraftErrors& err, int status) {
    auto messages = ctx_.store.thread_messages(t.id, max_thread_messages);
    if (!messages) return server_error("thread", messages.error());
    std::vector<TemplateMap> entries;
    for (const auto& m : *messages) {
      auto e = thread_entry(t, m);
      if (!e) return server_error("thread", e.error());
      entries.push_back(std::move(*e));
    }
    const bool live = thread_live(t);
    TemplateMap v = {{"team", team_of(t)},
                     {"started", when(t.created)},
                     {"messages", std::move(entries)},
                     {"open", live},
                     {"closed", !live},
                     {"action", "/threads/" + t.id + "/reply" + lang_query()}};
    draft_values(v, d, err);
    if (status == 200) ctx_.logger.info("portal_thread_viewed", {{"thread", t.id}, {"messages", messages->size()}});
    return page(status, "thread", std::move(v));
  }

  // GET /threads/{id}
  Response thread(const Route& r) {
    if (auto e = load_session(false)) return server_error("session", *e);
    if (citizen() == nullptr) return identify_page("/threads/" + r.token, true);
    auto t = own_thread(r.token);
    if (!t) return server_error("thread", t.error());
    if (!*t) return error_page(404, "not_found");
    return thread_page(**t, {}, {}, 200);
  }

  // The message `id` of the client's thread, if it is one they may read; else nothing.
  Result<std::optional<store::MessageMeta>> thread_message(const store::Thread& t, const std::string& id) {
    auto m = ctx_.store.find_message(id);
    if (!m) return m.error();
    if (!*m || (*m)->thread_id != t.id || !client_may_read(**m)) return std::optional<store::MessageMeta>();
    return m;
  }

  // GET /threads/{id}/sent/{message}: the receipt — reference, team, time; no content.
  Response thread_sent(const Route& r) {
    if (auto e = load_session(false)) return server_error("session", *e);
    if (citizen() == nullptr) return identify_page("/threads", true);
    auto t = own_thread(r.token);
    if (!t) return server_error("thread", t.error());
    if (!*t) return error_page(404, "not_found");
    auto m = thread_message(**t, r.item);
    if (!m) return server_error("thread", m.error());
    if (!*m || !written_by_client(cfg_, **m)) return error_page(404, "not_found");
    TemplateMap v = {{"ref", (*m)->id},
                     {"team", team_of(**t)},
                     {"date", when((*m)->stored.value_or((*m)->created))},
                     {"thread_href", "/threads/" + (*t)->id + lang_query()},
                     {"first", (*m)->id == (*t)->id},
                     {"notify", !(*t)->client_address.empty()},
                     {"notify_address", (*t)->client_address}};
    return page(200, "client-sent", std::move(v));
  }

  // GET /threads/{id}/attachment/{message}/{n}
  Response thread_attachment(const Route& r);

  // POST /threads/{id}/reply: a further message to the team in the same thread.
  Response thread_reply(const Route& r) {
    auto f = posted_form(RouteKind::thread_reply, "/threads/" + r.token);
    if (f.early) return std::move(*f.early);
    if (citizen() == nullptr) return redirect("/threads" + lang_query());
    auto t = own_thread(r.token);
    if (!t) return server_error("thread", t.error());
    if (!*t) return error_page(404, "not_found");
    const store::Thread& thread = **t;
    const config::Team* team = cfg_.find_team(thread.team_id);
    if (!thread_live(thread) || team == nullptr) return thread_page(thread, {}, {}, 409);
    ClientDraft d = draft_of(f);
    d.team_id.clear();
    d.subject.clear();
    const DraftErrors e = check_draft(cfg_, d, false);
    if (e.any()) return thread_page(thread, d, e, 422);
    auto built = build_client_message(ctx_, *team, &thread, *citizen(), lang_, d);
    if (!built) return server_error("client_message", built.error());
    const std::string id = built->message_id;
    if (auto c = ctx_.store.commit(std::move(built->batch)); !c) return server_error("client_message", c.error());
    ctx_.logger.info("portal_client_message", {{"message", id}, {"thread", thread.id}, {"team", team->id},
                                               {"attachments", d.files.size()}, {"new_thread", false}});
    return redirect("/threads/" + thread.id + "/sent/" + id + lang_query());
  }

  // ---- dispatch ------------------------------------------------------------------------------------

  Response dispatch(const Route& r) {
    if (r.kind == RouteKind::not_found) return error_page(404, "not_found");
    if (!r.method_allowed) {
      auto res = error_page(405, "method");
      res.set("Allow", std::string(r.allow) + (r.allow == "GET" ? ", HEAD" : ""));
      return res;
    }
    switch (r.kind) {
      case RouteKind::home: return error_page(200, "home");
      case RouteKind::accessibility: return page(200, "accessibility", {});
      case RouteKind::stylesheet: {
        Response res;
        res.set("Content-Type", "text/css; charset=utf-8");
        res.set("Cache-Control", "public, max-age=86400");
        res.body = std::string(stylesheet());
        return res;
      }
      case RouteKind::landing: return landing(r);
      case RouteKind::auth_start: return auth_start(r);
      case RouteKind::auth_callback: return auth_callback(r);
      case RouteKind::auth_jwks: return jwks();
      case RouteKind::pin: return send_pin(r);
      case RouteKind::unlock: return unlock(r);
      case RouteKind::read: return read(r);
      case RouteKind::attachment: return attachment(r);
      case RouteKind::pin_missing: return pin_missing(r);
      case RouteKind::reply: return reply(r);
      case RouteKind::new_form: return new_form();
      case RouteKind::new_submit: return new_submit();
      case RouteKind::threads: return threads();
      case RouteKind::thread: return thread(r);
      case RouteKind::thread_sent: return thread_sent(r);
      case RouteKind::thread_attachment: return thread_attachment(r);
      case RouteKind::thread_reply: return thread_reply(r);
      case RouteKind::staff_home: return staff_home();
      case RouteKind::staff_landing: return staff_landing(r);
      case RouteKind::staff_claim: return staff_claim(r);
      case RouteKind::staff_release: return staff_release(r);
      case RouteKind::staff_reassign: return staff_reassign(r);
      case RouteKind::staff_read: return staff_read(r);
      case RouteKind::staff_attachment: return staff_attachment(r);
      case RouteKind::staff_reply: return staff_reply(r);
      case RouteKind::not_found: break;
    }
    return error_page(404, "not_found");
  }

  const Request& req_;
  const PortalContext& ctx_;
  const config::Config& cfg_;
  Language lang_;
  std::optional<LiveSession> session_;
  std::optional<std::string> device_cookie_;  // set a new device cookie in the response
  std::string actor_ = "client";               // who audit() records: the staff views set "staff:SUB"

  // ---- staff views (team messages; defined below, "staff views") --------------------------------
  struct StaffGate;
  static std::string staff_base(const std::string& token) { return "/staff/m/" + token; }
  static const char* route_name(RouteKind k);
  void remember_staff(const auth::Identity& identity);
  const auth::Identity* staff_identity() const;
  std::vector<TemplateMap> staff_providers(const std::string& next);
  StaffGate staff_gate(const Route& r, bool create_session);
  StaffGate staff_posted(const Route& r);
  StaffGate lead_posted(const Route& r, const char* event);
  Response staff_page(const StaffGate& g, int status, TemplateMap extra = {});
  Response staff_refused(const StaffGate& g, std::string_view reason);
  Response staff_home();
  Response staff_landing(const Route& r);
  Response staff_claim(const Route& r);
  Response staff_release(const Route& r);
  Response staff_reassign(const Route& r);
  Response staff_read(const Route& r);
  Response staff_attachment(const Route& r);
  Response staff_reply(const Route& r);
};

// Streams one attachment's decoded bytes from the sealed message, one piece at a time: the reader
// (opened while the request is handled, so the data key is unwrapped under that request's key
// ring) is walked with the MIME parser, so memory stays flat.
class AttachmentStream final : public BodyStream {
 public:
  AttachmentStream(std::shared_ptr<sealed::ContentReader> reader, std::size_t part_index)
      : reader_(std::move(reader)), part_index_(part_index) {}

  Result<std::monostate> produce(const Sink& sink) override {
    mime::Limits limits;
    limits.max_text_bytes = metadata_text_bytes;
    std::vector<char> buffer(download_piece);
    bool found = false;
    auto walked = mime::for_each_part_source(reader_, limits, [&](const mime::Part& part, mime::PartContent& content) {
      if (part.index != part_index_) return true;
      found = true;
      for (;;) {
        const std::size_t n = content.read(buffer);
        if (n == 0 || !sink(std::string_view(buffer.data(), n))) break;
      }
      return false;
    });
    if (!walked) return walked.error();
    if (!found) return make_error("the attachment is gone from the message");
    return std::monostate{};
  }

 private:
  std::shared_ptr<sealed::ContentReader> reader_;
  std::size_t part_index_;
};

Response Handling::attachment(const Route& r) {
  auto o = open_for_reading(r);
  if (o.early) return std::move(*o.early);
  return send_attachment(*o.link, r);
}

Response Handling::send_attachment(const Link& link, const Route& r) {
  auto message = read_message(link, metadata_text_bytes);
  if (!message) return server_error("read", message.error());
  if (!r.index || *r.index >= message->attachments.size()) return error_page(404, "not_found");
  const auto& part = message->attachments[*r.index].part;
  Response res;
  res.set("Content-Type", safe_download_type(part.content_type, part.charset));
  res.set("Content-Disposition", content_disposition(part.filename, "attachment-" + std::to_string(*r.index + 1)));
  res.set("Content-Security-Policy", "default-src 'none'; sandbox");
  auto reader = sealed::ContentReader::open(ctx_.store, link.meta, ctx_.ring);
  if (!reader) return server_error("read", reader.error());
  res.stream = std::make_shared<AttachmentStream>(std::move(*reader), part.index);
  audit("message.downloaded", link, "ok", {{"attachment", *r.index}});
  ctx_.logger.info("portal_download", {{"message", link.meta.id}, {"attachment", *r.index}});
  return res;
}

// GET /threads/{id}/attachment/{message}/{n}: a file of a message the client may read in their
// own thread, streamed like a read link's download.
Response Handling::thread_attachment(const Route& r) {
  if (auto e = load_session(false)) return server_error("session", *e);
  if (citizen() == nullptr) return identify_page("/threads", true);
  auto t = own_thread(r.token);
  if (!t) return server_error("thread", t.error());
  if (!*t) return error_page(404, "not_found");
  auto m = thread_message(**t, r.item);
  if (!m) return server_error("thread", m.error());
  if (!*m) return error_page(404, "not_found");
  const store::MessageMeta& meta = **m;
  auto reader = sealed::ContentReader::open(ctx_.store, meta, ctx_.ring);
  if (!reader) return server_error("read", reader.error());
  mime::Limits limits;
  limits.max_text_bytes = metadata_text_bytes;
  auto message = mime::read_message_source(*reader, limits);
  if (!message) return server_error("read", message.error());
  if (!r.index || *r.index >= message->attachments.size()) return error_page(404, "not_found");
  const auto& part = message->attachments[*r.index].part;
  Response res;
  res.set("Content-Type", safe_download_type(part.content_type, part.charset));
  res.set("Content-Disposition", content_disposition(part.filename, "attachment-" + std::to_string(*r.index + 1)));
  res.set("Content-Security-Policy", "default-src 'none'; sandbox");
  res.stream = std::make_shared<AttachmentStream>(std::move(*reader), part.index);
  auto s = ctx_.store.append_audit({{"message.downloaded", meta.id, "client", "ok",
                                     nlohmann::json{{"via", "thread"}, {"thread", (*t)->id}, {"attachment", *r.index}}.dump()}});
  if (!s) ctx_.logger.error("portal_audit_failed", {{"message", meta.id}, {"error", s.error().message}});
  ctx_.logger.info("portal_download", {{"message", meta.id}, {"attachment", *r.index}});
  return res;
}

// ---- staff views ---------------------------------------------------------------------------------
// A team link (team_link.hpp) opens here only: staff sign in with a `staff` provider and must be in
// the team's `staff_group`. GETs change no message: the first member to POST "Open" claims it (the
// store decides who was first); from then on only the claimant reads, downloads and replies, the
// others see who claimed it and when. Members of the team's `lead_group` release a claim or
// reassign it to another member who has signed in before (store: staff members). Audited:
// `staff.access` denied, `claim.claimed`, `claim.released`, `claim.reassigned` (actor staff:SUB),
// and the read page's `message.viewed` / `message.downloaded` by staff:SUB.

struct Handling::StaffGate {
  std::optional<Link> link;
  const config::Team* team = nullptr;
  const auth::Identity* who = nullptr;  // a member of the team's staff_group
  bool lead = false;                    // also in the team's lead_group
  std::optional<store::Claim> claim;    // the claim in force
  Posted post;                          // POSTs: the form and files
  std::optional<Response> early;        // answer at once
  bool mine() const { return who != nullptr && claim && claim->staff_subject == who->subject; }
};

const char* Handling::route_name(RouteKind k) {
  switch (k) {
    case RouteKind::pin: return "pin";
    case RouteKind::unlock: return "unlock";
    case RouteKind::pin_missing: return "no_pin";
    case RouteKind::reply: return "reply";
    case RouteKind::new_submit: return "new";
    case RouteKind::thread_reply: return "thread_reply";
    case RouteKind::staff_claim: return "staff_claim";
    case RouteKind::staff_release: return "staff_release";
    case RouteKind::staff_reassign: return "staff_reassign";
    case RouteKind::staff_reply: return "staff_reply";
    default: return "other";
  }
}

// At a staff sign-in: the member's name, e-mail and groups for a lead's reassignment. A failure is
// logged; the sign-in goes on.
void Handling::remember_staff(const auth::Identity& identity) {
  if (identity.subject.empty()) return;
  store::StaffMember m{identity.subject, identity.name, identity.email, identity.groups, {}};
  if (auto s = ctx_.store.upsert_staff_member(m); !s) {
    ctx_.logger.error("portal_staff_record_failed", {{"error", s.error().message}});
  }
}

const auth::Identity* Handling::staff_identity() const {
  if (!session_ || !session_->identity || !session_->identity->is_staff()) return nullptr;
  return &*session_->identity;
}

// The start links of the staff providers, coming back to `next` (a local path).
std::vector<TemplateMap> Handling::staff_providers(const std::string& next) {
  std::vector<TemplateMap> out;
  if (ctx_.oidc == nullptr) return out;
  const std::string back = percent_encode(next + "?lang=" + config::to_string(lang_));
  for (const auto* p : ctx_.oidc->of_kind(config::ProviderKind::staff)) {
    const auto name = p->name.find(lang_);
    out.push_back({{"href", "/auth/" + p->id + "/start?next=" + back + "&lang=" + config::to_string(lang_)},
                   {"name", name != p->name.end() ? name->second : p->id}});
  }
  return out;
}

// The session, the team link, the staff member and membership, the claim. Not signed in as staff:
// the sign-in offer (200 on a GET); not a member: the neutral refusal (403, audited).
Handling::StaffGate Handling::staff_gate(const Route& r, bool create_session) {
  StaffGate g;
  if (auto e = load_session(create_session)) {
    g.early = server_error("session", *e);
    return g;
  }
  auto link = resolve(r.token);
  if (!link) {
    g.early = server_error("token", link.error());
    return g;
  }
  if (!*link || (*link)->team == nullptr) {
    g.early = not_found_link();
    return g;
  }
  g.link = std::move(**link);
  g.link->base = staff_base(r.token);
  g.team = g.link->team;
  const auth::Identity* who = staff_identity();
  if (who == nullptr) {
    if (session_ && session_->identity) {  // a citizen's identification is no staff sign-in
      g.early = staff_refused(g, "not_staff");
      return g;
    }
    g.early = staff_page(g, 200, {{"signin", true}});
    return g;
  }
  actor_ = "staff:" + who->subject;
  if (g.team->staff_group.empty() || !who->in_group(g.team->staff_group)) {
    g.early = staff_refused(g, "not_member");
    return g;
  }
  g.who = who;
  g.lead = !g.team->lead_group.empty() && who->in_group(g.team->lead_group);
  auto claim = ctx_.store.find_claim(g.link->meta.id);
  if (!claim) {
    g.early = server_error("claim", claim.error());
    return g;
  }
  g.claim = std::move(*claim);
  return g;
}

// A staff POST: the form, the session's CSRF token, then the gate.
Handling::StaffGate Handling::staff_posted(const Route& r) {
  Posted p = posted_form(r.kind, staff_base(r.token));
  if (p.early) {
    StaffGate g;
    g.early = std::move(p.early);
    return g;
  }
  StaffGate g = staff_gate(r, false);
  g.post = std::move(p);
  return g;
}

// A team lead's POST on a claimed message (release, reassign): anyone else is refused, and a
// member who is no lead is audited as `event` denied.
Handling::StaffGate Handling::lead_posted(const Route& r, const char* event) {
  StaffGate g = staff_posted(r);
  if (g.early) return g;
  if (g.who == nullptr) {
    g.early = staff_page(g, 403, {{"signin", true}});
  } else if (!g.lead) {
    audit(event, *g.link, "denied", {{"team", g.team->id}, {"reason", "not_lead"}});
    g.early = staff_page(g, 403, {{"not_lead", true}});
  } else if (!g.claim) {
    g.early = staff_page(g, 409);
  }
  return g;
}

Response Handling::staff_refused(const StaffGate& g, std::string_view reason) {
  ctx_.logger.info("portal_staff_refused", {{"message", g.link->meta.id}, {"team", g.team->id}, {"reason", reason}});
  audit("staff.access", *g.link, "denied", {{"team", g.team->id}, {"reason", reason}});
  return staff_page(g, 403, {{"refused", true}});
}

Response Handling::staff_page(const StaffGate& g, int status, TemplateMap extra) {
  const auto& m = g.link->meta;
  const config::Team& team = *g.team;
  std::string team_label = team.id;
  if (const auto it = team.name.find(lang_); it != team.name.end()) team_label = it->second;
  const auto when = m.stored.value_or(m.created);
  TemplateMap v = {{"base", g.link->base},
                   {"csrf", csrf()},
                   {"team", team_label},
                   {"received", i18n::format_date(std::chrono::system_clock::time_point(when), lang_)},
                   {"message_ref", m.id},
                   {"signed_in", g.who != nullptr},
                   {"member", g.who != nullptr},
                   {"lead", g.lead}};
  if (const auth::Identity* who = staff_identity()) v.insert_or_assign("staff_name", who->name.empty() ? who->subject : who->name);
  const bool signin = extra.contains("signin") || extra.contains("refused");
  if (signin) {
    auto providers = staff_providers(g.link->base);
    v.insert_or_assign("signin_available", !providers.empty());
    v.insert_or_assign("providers", std::move(providers));
  }
  if (g.who != nullptr) {
    v.insert_or_assign("unclaimed", !g.claim.has_value());
    v.insert_or_assign("claimed", g.claim.has_value());
    v.insert_or_assign("claimed_other", g.claim.has_value() && !g.mine());
    v.insert_or_assign("claimed_mine", g.mine());
    if (g.claim) {
      v.insert_or_assign("holder", g.claim->staff_name.empty() ? g.claim->staff_subject : g.claim->staff_name);
      v.insert_or_assign("claimed_at", i18n::format_date(std::chrono::system_clock::time_point(g.claim->claimed), lang_));
    }
    if (g.lead && g.claim) {
      auto members = ctx_.store.staff_members_in(team.staff_group, 500);
      if (!members) return server_error("staff", members.error());
      std::vector<TemplateMap> list;
      for (const auto& mem : *members) {
        if (mem.subject == g.claim->staff_subject) continue;
        list.push_back({{"subject", mem.subject},
                        {"name", mem.name.empty() ? mem.subject : mem.name},
                        {"email", mem.email}});
      }
      v.insert_or_assign("can_reassign", !list.empty());
      v.insert_or_assign("members", std::move(list));
    }
    const auto query = parse_form(req_.query());
    if (const auto done = query.find("done"); done != query.end()) {
      v.insert_or_assign("done_released", done->second == "released");
      v.insert_or_assign("done_reassigned", done->second == "reassigned");
    }
  }
  for (auto& [k, value] : extra) v.insert_or_assign(k, std::move(value));
  auto res = page(status, "staff", std::move(v));
  res.set("Cache-Control", "no-store");
  return res;
}

// GET /staff: who is signed in and the teams they work in.
Response Handling::staff_home() {
  if (auto e = load_session(true)) return server_error("session", *e);
  const auth::Identity* who = staff_identity();
  TemplateMap v;
  if (who == nullptr) {
    auto providers = staff_providers("/staff");
    v.insert_or_assign("signin_available", !providers.empty());
    v.insert_or_assign("providers", std::move(providers));
    return page(200, "staff-home", std::move(v));
  }
  std::vector<TemplateMap> teams;
  for (const auto& t : cfg_.teams) {
    if (t.staff_group.empty() || !who->in_group(t.staff_group)) continue;
    const auto name = t.name.find(lang_);
    teams.push_back({{"name", name != t.name.end() ? name->second : t.id},
                     {"lead", !t.lead_group.empty() && who->in_group(t.lead_group)}});
  }
  v.insert_or_assign("signed_in", true);
  v.insert_or_assign("staff_name", who->name.empty() ? who->subject : who->name);
  v.insert_or_assign("has_teams", !teams.empty());
  v.insert_or_assign("teams", std::move(teams));
  auto res = page(200, "staff-home", std::move(v));
  res.set("Cache-Control", "no-store");
  return res;
}

// GET /staff/m/{token}: the sign-in offer, the refusal, the "Open" button, or who claimed it.
// Claimed by the one asking: straight to the message. Changes no message.
Response Handling::staff_landing(const Route& r) {
  StaffGate g = staff_gate(r, true);
  if (g.early) return std::move(*g.early);
  if (g.mine() && !g.lead) return redirect(g.link->base + "/read?lang=" + config::to_string(lang_));
  return staff_page(g, 200);
}

// POST /staff/m/{token}/claim: the first member to press "Open" claims the message.
Response Handling::staff_claim(const Route& r) {
  StaffGate g = staff_posted(r);
  if (g.early) return std::move(*g.early);
  if (g.who == nullptr) return staff_page(g, 403, {{"signin", true}});
  const auto& m = g.link->meta;
  store::Claim c{m.id, g.team->id, g.who->subject, g.who->name, g.who->email, {}};
  const std::string details = nlohmann::json{{"team", g.team->id}, {"recipient_index", g.link->record.recipient_index}}.dump();
  auto outcome = ctx_.store.claim(c, {{"claim.claimed", m.id, actor_, "ok", details}});
  if (!outcome) return server_error("claim", outcome.error());
  g.claim = outcome->holder;
  if (!g.mine()) {
    ctx_.logger.info("portal_claim", {{"message", m.id}, {"team", g.team->id}, {"outcome", "taken"}});
    return staff_page(g, 409, {{"claim_lost", true}});
  }
  ctx_.logger.info("portal_claim", {{"message", m.id}, {"team", g.team->id}, {"outcome", outcome->claimed ? "claimed" : "already_mine"}});
  return redirect(g.link->base + "/read?lang=" + config::to_string(lang_));
}

// POST /staff/m/{token}/release: a team lead makes the message unclaimed again.
Response Handling::staff_release(const Route& r) {
  StaffGate g = lead_posted(r, "claim.released");
  if (g.early) return std::move(*g.early);
  const auto& m = g.link->meta;
  const std::string details = nlohmann::json{{"team", g.team->id}, {"from", g.claim->staff_subject}}.dump();
  auto released = ctx_.store.release_claim(m.id, {{"claim.released", m.id, actor_, "ok", details}});
  if (!released) return server_error("claim", released.error());
  ctx_.logger.info("portal_claim", {{"message", m.id}, {"team", g.team->id}, {"outcome", *released ? "released" : "not_claimed"}});
  return redirect(g.link->base + "?lang=" + config::to_string(lang_) + "&done=released");
}

// POST /staff/m/{token}/reassign (field `member`: a subject): a team lead hands the claim to
// another member of the team who has signed in before.
Response Handling::staff_reassign(const Route& r) {
  StaffGate g = lead_posted(r, "claim.reassigned");
  if (g.early) return std::move(*g.early);
  const auto& m = g.link->meta;
  std::string subject;
  if (const auto it = g.post.form.find("member"); it != g.post.form.end()) subject = it->second;
  std::optional<store::StaffMember> member;
  if (!subject.empty() && subject.size() <= auth::max_claim_text) {
    auto found = ctx_.store.find_staff_member(subject);
    if (!found) return server_error("staff", found.error());
    member = std::move(*found);
  }
  if (!member || std::find(member->groups.begin(), member->groups.end(), g.team->staff_group) == member->groups.end()) {
    return staff_page(g, 422, {{"member_error", true}});
  }
  store::Claim c{m.id, g.team->id, member->subject, member->name, member->email, {}};
  const std::string details =
      nlohmann::json{{"team", g.team->id}, {"from", g.claim->staff_subject}, {"to", member->subject}}.dump();
  auto moved = ctx_.store.reassign_claim(c, {{"claim.reassigned", m.id, actor_, "ok", details}});
  if (!moved) return server_error("claim", moved.error());
  ctx_.logger.info("portal_claim", {{"message", m.id}, {"team", g.team->id}, {"outcome", *moved ? "reassigned" : "not_claimed"}});
  return redirect(g.link->base + "?lang=" + config::to_string(lang_) + "&done=reassigned");
}

// GET /staff/m/{token}/read: the claimant only; the others go back to the staff page.
Response Handling::staff_read(const Route& r) {
  StaffGate g = staff_gate(r, true);
  if (g.early) return std::move(*g.early);
  if (!g.mine()) return redirect(g.link->base + "?lang=" + config::to_string(lang_));
  ReplyState st;
  st.replied = parse_form(req_.query()).contains("replied");
  return read_page(*g.link, st, 200);
}

// GET /staff/m/{token}/attachment/{n}: the claimant only.
Response Handling::staff_attachment(const Route& r) {
  StaffGate g = staff_gate(r, false);
  if (g.early) return std::move(*g.early);
  if (!g.mine()) return staff_page(g, 403);
  return send_attachment(*g.link, r);
}

// POST /staff/m/{token}/reply: the claimant's reply becomes what a staff reply by mail becomes
// (ingest/staff_reply.hpp): a protected message in the thread for the client, and its notification.
Response Handling::staff_reply(const Route& r) {
  StaffGate g = staff_posted(r);
  if (g.early) return std::move(*g.early);
  if (g.who == nullptr) return staff_page(g, 403, {{"signin", true}});
  if (!g.mine()) return staff_page(g, 403);
  const Link& link = *g.link;
  ReplyForm form = reply_form(g.post);
  if (!form.ok()) return read_page(link, form.state, 422);
  auto thread = ctx_.store.find_thread(link.meta.thread_id.empty() ? link.meta.id : link.meta.thread_id);
  if (!thread) return server_error("reply", thread.error());
  const auto now = now_ts(ctx_.clock);
  if (!*thread || (*thread)->team_id != g.team->id || (*thread)->state != store::ThreadState::open ||
      ((*thread)->expires && *(*thread)->expires <= now)) {
    return read_page(link, {}, 409);
  }
  auto original = read_message(link, metadata_text_bytes);
  if (!original) return server_error("reply", original.error());
  const auto marks = routing::parse_message_marks(*original, cfg_.routing.marks, cfg_.sms.default_country);
  const std::string subject = marks.subject_tag ? marks.subject : original->subject;

  ingest::StaffReplyTarget target{**thread, *g.claim, g.team, link.meta.id};
  ingest::StaffReplyInput in{cfg_, ctx_.templates, ctx_.ring, ctx_.clock, target};
  in.reply_id = ingest::new_message_id(ctx_.clock);
  in.subject = subject.empty() ? "Re:" : subject.starts_with("Re:") ? subject : "Re: " + subject;
  in.text = ingest::drop_link_lines(form.text, ingest::portal_link_prefixes(cfg_));
  for (const FormPart* f : form.files) in.attachments.push_back(reply_attachment(*f));
  in.sender = g.claim->staff_email.empty() ? g.team->mailbox : g.claim->staff_email;
  in.via = "portal";
  auto batch = ingest::build_staff_reply(in);
  if (!batch) return server_error("reply", batch.error());
  if (auto c = ctx_.store.commit(std::move(*batch)); !c) return server_error("reply", c.error());
  ctx_.logger.info("portal_staff_reply", {{"message", link.meta.id}, {"reply", in.reply_id}, {"thread", (*thread)->id},
                                          {"attachments", form.files.size()}});
  return redirect(link.base + "/read?lang=" + std::string(config::to_string(lang_)) + "&replied=1");
}

}  // namespace

Response handle(const Request& request, const PortalContext& context) {
  Handling h(request, context);
  return h.run();
}

Response error_response(const PortalContext& context, int status) {
  Request none;
  none.method = "GET";
  none.target = "/";
  Handling h(none, context);
  const std::string_view kind = status == 413 || status == 431 ? "too_large" : status == 500 ? "server" : "bad_request";
  return h.finish(h.error_page(status, kind));
}

}  // namespace sinetti::portal
