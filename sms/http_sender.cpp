#include "sms/http_sender.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <thread>

#include "sinetti/blocking.hpp"

namespace sinetti::sms {

using Json = nlohmann::json;

struct HttpSmsSender::Settings {
  explicit Settings(BodyTemplate b) : body(std::move(b)) {}
  HttpRequest request;  // everything but the body and its content type
  BodyTemplate body;
  std::vector<int> success;
  std::vector<int> retry_on;
  std::string message_id;  // JSON pointer; empty: the reply is not read
  unsigned max_retries = 0;
  std::string sender;
  HttpSmsOptions options;
  std::vector<std::string> secrets;  // credentials, masked in reasons should a provider echo them
};

namespace {

bool contains(const std::vector<int>& list, int status) {
  return std::find(list.begin(), list.end(), status) != list.end();
}

bool has_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

// Retry-After as delta-seconds (RFC 9110 §10.2.3); an HTTP-date is not used.
std::optional<std::chrono::seconds> retry_after_seconds(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->size() > 9) return std::nullopt;
  long long n = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc{} || end != value->data() + value->size() || n < 0) return std::nullopt;
  return std::chrono::seconds(n);
}

std::string after(unsigned attempts) {
  return attempts == 1 ? std::string() : " (after " + std::to_string(attempts) + " attempts)";
}

// The reply excerpt with any of our credentials the provider echoed replaced by "[secret]".
std::string status_reason(const HttpReply& reply, const std::vector<std::string>& secrets) {
  std::string reason = "provider answered HTTP " + std::to_string(reply.status);
  std::string body = reply.body;
  for (const auto& secret : secrets) {
    for (auto pos = body.find(secret); pos != std::string::npos; pos = body.find(secret, pos + 8)) {
      body.replace(pos, secret.size(), "[secret]");
    }
  }
  const std::string excerpt = reply_excerpt(body);
  if (!excerpt.empty()) reason += ": " + excerpt;
  return reason;
}

}  // namespace

std::string reply_excerpt(std::string_view body) {
  constexpr std::size_t max_bytes = 200;
  std::string out;
  std::size_t i = 0;
  while (i < body.size() && out.size() < max_bytes) {
    const char c = body[i];
    if (c >= '0' && c <= '9') {
      // A run of digits, possibly separated by single spaces or hyphens ("+358 40 123 4567").
      std::size_t j = i;
      std::size_t digits = 0;
      std::size_t last_digit = i;
      while (j < body.size()) {
        if (body[j] >= '0' && body[j] <= '9') {
          ++digits;
          last_digit = j;
          ++j;
        } else if ((body[j] == ' ' || body[j] == '-') && j + 1 < body.size() && body[j + 1] >= '0' && body[j + 1] <= '9') {
          ++j;
        } else {
          break;
        }
      }
      if (digits >= 6) out += "[digits]";
      else out += body.substr(i, last_digit + 1 - i);
      i = last_digit + 1;
      continue;
    }
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? ' ' : c;
    ++i;
  }
  if (i < body.size()) out += "...";
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Result<std::string> message_id_from_reply(std::string_view body, const std::string& pointer) {
  std::optional<Json::json_pointer> ptr;
  try {
    ptr.emplace(pointer);
  } catch (const Json::exception&) {
    return make_error("'" + pointer + "' is not a JSON pointer");
  }
  const Json reply = Json::parse(body, nullptr, false);
  if (reply.is_discarded()) return make_error("the reply is not JSON, so there is no message id at " + pointer);
  const Json* value = nullptr;
  try {
    if (reply.contains(*ptr)) value = &reply.at(*ptr);
  } catch (const Json::exception&) {
    value = nullptr;  // e.g. "/ids/0" into an object: no such value
  }
  if (value == nullptr) return make_error("the reply has no message id at " + pointer);
  if (value->is_string() && !value->get_ref<const std::string&>().empty()) return value->get<std::string>();
  if (value->is_number()) return value->dump();
  return make_error("the value at " + pointer + " is not a string or number");
}

std::vector<config::Diagnostic> validate(const config::SmsHttp& http) {
  std::vector<config::Diagnostic> problems;
  if (auto host = url_host(http.url); !host) {
    problems.push_back({http.url_where, "sms.http.url: " + host.error().message});
  }
  for (const auto& p : BodyTemplate::check(http.format, http.body_template)) {
    problems.push_back({http.body_where, "sms.http." + p});
  }
  if (!http.message_id_pointer.empty()) {
    try {
      (void)Json::json_pointer(http.message_id_pointer);
    } catch (const Json::exception&) {
      problems.push_back({http.message_id_where, "sms.http.message_id: '" + http.message_id_pointer +
                                                     "' is not a JSON pointer (RFC 6901), e.g. /ids/0"});
    }
  }
  if (http.success.empty()) problems.push_back({http.url_where, "sms.http.success: needs at least one status"});
  if (http.auth == config::HttpAuthKind::basic && http.username.empty() == !http.username_secret.has_value()) {
    problems.push_back({http.url_where, "sms.http.auth: basic needs exactly one of username and username_file"});
  }
  if (http.auth == config::HttpAuthKind::bearer && !http.token) {
    problems.push_back({http.url_where, "sms.http.auth: bearer needs token_file or token: env:NAME"});
  }
  return problems;
}

namespace {

// A successful status: the provider's id from the reply, at the configured pointer if there is one.
// A reply without one is not retried: the provider said yes, so the message may well be on its way
// and a retry could send the PIN twice. The reason tells the operator the reply did not match the
// configuration.
SmsResult accepted_reply(const std::string& pointer, const HttpReply& reply, unsigned attempts) {
  if (pointer.empty()) return {SmsAccepted{}, attempts};
  auto id = message_id_from_reply(reply.body, pointer);
  if (!id) {
    return {SmsFailed{"provider answered HTTP " + std::to_string(reply.status) + " but " + id.error().message +
                          " (not retried: the message may have been sent)",
                      false},
            attempts};
  }
  return {SmsAccepted{std::move(*id)}, attempts};
}

}  // namespace

Result<std::unique_ptr<HttpSmsSender>> HttpSmsSender::create(const config::SmsHttp& http, std::string sender,
                                                             HttpSmsOptions options) {
  const auto problems = validate(http);
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p.message;
    return make_error(message);
  }
  auto body = BodyTemplate::compile(http.format, http.body_template);
  if (!body) return body.error();
  auto s = std::make_unique<Settings>(std::move(*body));
  s->success = http.success;
  s->retry_on = http.retry_on;
  s->message_id = http.message_id_pointer;
  s->max_retries = http.max_retries;
  s->sender = std::move(sender);
  s->options = std::move(options);
  if (!s->options.wait) s->options.wait = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };

  HttpRequest& r = s->request;
  r.method = http.method.empty() ? "POST" : http.method;
  r.url = http.url;
  r.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(http.timeout);
  if (r.timeout.count() <= 0) r.timeout = std::chrono::seconds(10);
  r.ca_file = s->options.ca_file;
  r.max_reply_bytes = s->options.max_reply_bytes;
  r.headers.emplace_back("Accept", "application/json");
  const auto secret = [](const std::optional<config::Secret>& ref, const char* what) -> Result<std::string> {
    if (!ref) return std::string();
    auto value = config::read_secret(*ref);
    if (!value) return make_error(std::string("sms.http.auth.") + what + ": " + value.error().message);
    if (has_control(*value)) return make_error(std::string("sms.http.auth.") + what + ": contains control characters");
    return value;
  };
  switch (http.auth) {
    case config::HttpAuthKind::none:
      r.auth = HttpRequest::Auth::none;
      break;
    case config::HttpAuthKind::basic: {
      r.auth = HttpRequest::Auth::basic;
      if (http.username_secret) {
        auto user = secret(http.username_secret, "username_file");
        if (!user) return user.error();
        r.username = std::move(*user);
      } else {
        r.username = http.username;
      }
      auto password = secret(http.password, "password");
      if (!password) return password.error();
      r.password = std::move(*password);  // empty when none is configured (GatewayAPI)
      break;
    }
    case config::HttpAuthKind::bearer: {
      r.auth = HttpRequest::Auth::bearer;
      auto token = secret(http.token, "token");
      if (!token) return token.error();
      if (token->empty()) return make_error("sms.http.auth.token: is empty");
      r.password = std::move(*token);
      break;
    }
  }
  for (const std::string* v : {&r.username, &r.password}) {
    if (v->size() >= 4) s->secrets.push_back(*v);
  }
  auto host = url_host(http.url);
  std::unique_ptr<HttpSmsSender> out(new HttpSmsSender(std::move(s)));
  out->host_ = std::move(*host);
  return out;
}

HttpSmsSender::HttpSmsSender(std::unique_ptr<Settings> settings) : settings_(std::move(settings)) {}
HttpSmsSender::~HttpSmsSender() = default;

SmsResult HttpSmsSender::send(const SmsMessage& message) {
  if (auto bad = check_message(message)) return {*bad, 0};
  const Settings& s = *settings_;
  const auto rendered = s.body.render(TemplateValues{message.to, message.to.substr(1), message.text, message.ref, s.sender});
  HttpRequest request = s.request;
  request.headers.emplace_back("Content-Type", rendered.content_type);
  request.body = rendered.body;

  const unsigned max_attempts = 1 + s.max_retries;
  auto backoff = s.options.first_backoff;
  for (unsigned attempt = 1;; ++attempt) {
    const HttpOutcome outcome = perform(request);
    const bool last = attempt == max_attempts;
    std::chrono::milliseconds delay = backoff;
    if (outcome.failure != HttpFailure::none) {
      const bool transient = outcome.failure == HttpFailure::connect || outcome.failure == HttpFailure::timeout ||
                             outcome.failure == HttpFailure::network;
      if (!transient || last) {
        const std::string what = outcome.failure == HttpFailure::reply_too_large
                                     ? "provider's reply refused: "
                                     : std::string("provider not reached (") + to_string(outcome.failure) + "): ";
        return {SmsFailed{what + outcome.error + after(attempt), transient}, attempt};
      }
    } else if (contains(s.success, outcome.reply.status)) {
      return accepted_reply(s.message_id, outcome.reply, attempt);
    } else if (!contains(s.retry_on, outcome.reply.status)) {
      return {SmsFailed{status_reason(outcome.reply, s.secrets) + after(attempt), false}, attempt};
    } else {
      if (last) return {SmsFailed{status_reason(outcome.reply, s.secrets) + after(attempt), true}, attempt};
      if (auto wait = retry_after_seconds(outcome.reply.retry_after)) {
        if (*wait > s.options.max_retry_after) {
          return {SmsFailed{"provider answered HTTP " + std::to_string(outcome.reply.status) + " and asks to wait " +
                                std::to_string(wait->count()) + " s, more than " +
                                std::to_string(s.options.max_retry_after.count()) + " s" + after(attempt),
                            true},
                  attempt};
        }
        delay = std::max(delay, std::chrono::duration_cast<std::chrono::milliseconds>(*wait));
      }
    }
    {
      const Waiting waiting;
      s.options.wait(delay);
    }
    backoff = std::min(backoff * 2, s.options.max_backoff);
  }
}

}  // namespace sinetti::sms
