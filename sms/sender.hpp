// SmsSender: how the gateway sends the one-time PIN that unlocks a "registered letter" (level sms).
// Implementations: FileSmsSender (JSON lines, development and end-to-end tests) and HttpSmsSender
// (a provider's HTTP API, from configuration). Provider and network failures are values, never
// exceptions; nothing here logs, and a failure reason never holds the number, the text or a secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sinetti::sms {

struct SmsMessage {
  std::string to;    // E.164, "+358401234567" (normalize_phone)
  std::string text;  // the PIN text (render_pin_text); never message content
  std::string ref;   // our reference for the audit trail, e.g. the PIN challenge id
};

// Limits on what a caller may hand a sender: a PIN text is short, a reference is an id.
constexpr std::size_t max_sms_text_bytes = 1600;  // ten concatenated UCS-2 segments, well beyond any PIN text
constexpr std::size_t max_sms_ref_bytes = 128;

// The provider took the message. `provider_id` is its message id when the reply carries one.
struct SmsAccepted {
  std::optional<std::string> provider_id;
};

// The message was not sent. `retryable`: a later attempt may succeed (the provider was busy or
// unreachable); false when trying again cannot help (refused by the provider, bad configuration).
struct SmsFailed {
  std::string reason;
  bool retryable = false;
};

class SmsResult {
 public:
  SmsResult(SmsAccepted accepted, unsigned attempts = 1)  // NOLINT: implicit by design
      : outcome_(std::move(accepted)), attempts_(attempts) {}
  SmsResult(SmsFailed failed, unsigned attempts = 1)  // NOLINT
      : outcome_(std::move(failed)), attempts_(attempts) {}

  bool accepted() const { return outcome_.index() == 0; }
  explicit operator bool() const { return accepted(); }
  const SmsAccepted& acceptance() const { return std::get<0>(outcome_); }  // only when accepted()
  const SmsFailed& failure() const { return std::get<1>(outcome_); }       // only when !accepted()
  // Requests made to deliver it (1 + retries); for metrics.
  unsigned attempts() const { return attempts_; }

 private:
  std::variant<SmsAccepted, SmsFailed> outcome_;
  unsigned attempts_ = 1;
};

class SmsSender {
 public:
  virtual ~SmsSender() = default;
  // Sends one message, blocking until the provider answered or the sender gave up (HTTP: retries
  // included, so up to (1 + max_retries) x timeout plus backoff). Call it from a worker thread, never
  // from an I/O thread. Thread-safe. Never throws for provider, network or file failures.
  virtual SmsResult send(const SmsMessage& message) = 0;
  // A short label for metrics and logs: "file", or the provider's host name.
  virtual std::string_view name() const = 0;
};

// Checks what every sender requires of a message: `to` is '+' and 8–15 digits, the text is not
// empty and within max_sms_text_bytes, the reference within max_sms_ref_bytes. nullopt when fine.
std::optional<SmsFailed> check_message(const SmsMessage& message);

}  // namespace sinetti::sms
