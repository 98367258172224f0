// HttpSmsSender (driver `http`): sends through an SMS provider's HTTP API described entirely by
// configuration (sms.http: url, method, auth, body template, success statuses, message id pointer,
// retry statuses) — GatewayAPI, 46elks and Twilio are examples in config/examples/.
// Retries: statuses in retry_on, connection failures and timeouts, with exponential backoff (0.5 s,
// 1 s, 2 s ... at most 8 s; a Retry-After of at most 30 s replaces the backoff when longer), at most
// max_retries times; never any other status. Secrets are read once, at creation, and never appear
// in a failure reason. Untrusted input: the provider's replies.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sinetti/result.hpp"
#include "sms/body_template.hpp"
#include "sms/http_client.hpp"
#include "sms/sender.hpp"

namespace sinetti::sms {

struct HttpSmsOptions {
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{8'000};
  std::chrono::seconds max_retry_after{30};  // a provider asking for longer is a failure (retryable)
  // How the sender waits between attempts; default std::this_thread::sleep_for. Tests record it.
  std::function<void(std::chrono::milliseconds)> wait;
  std::optional<std::filesystem::path> ca_file;  // trust this CA instead of the system's (tests)
  std::size_t max_reply_bytes = 64 * 1024;
};

// Every problem with an http driver configuration that loading cannot see (the body template,
// the message id pointer, the URL, the auth settings), with the location it was written at.
// check-config reports these; HttpSmsSender::create refuses a configuration that has any.
std::vector<config::Diagnostic> validate(const config::SmsHttp& http);

class HttpSmsSender final : public SmsSender {
 public:
  // Validates `http` and reads its secrets. `sender` fills {{sender}} (sms.sender).
  static Result<std::unique_ptr<HttpSmsSender>> create(const config::SmsHttp& http, std::string sender,
                                                       HttpSmsOptions options = {});
  ~HttpSmsSender() override;

  SmsResult send(const SmsMessage& message) override;
  std::string_view name() const override { return host_; }

 private:
  struct Settings;
  explicit HttpSmsSender(std::unique_ptr<Settings> settings);

  std::unique_ptr<const Settings> settings_;
  std::string host_;
};

// The provider's message id at `pointer` (RFC 6901) in a JSON reply: a non-empty string, or a
// number as its JSON text. Otherwise an error saying what is missing. Untrusted input: `body`.
Result<std::string> message_id_from_reply(std::string_view body, const std::string& pointer);

// The provider's reply reduced to what is safe in a failure reason: at most 200 bytes, control
// characters as spaces, and every run of 6 or more digits (phone numbers, PINs), spaces and hyphens
// between them included, replaced by "[digits]".
std::string reply_excerpt(std::string_view body);

}  // namespace sinetti::sms
