// A scripted SMS provider for the HTTP driver's tests: a real HTTP/1.1 server (Boost.Beast, plain or
// TLS) on 127.0.0.1 and a kernel-chosen port, running on its own thread. Each request gets the next
// scripted reply (the last one repeats) and is recorded for the test to inspect.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sinetti::sms::test {

struct ScriptedReply {
  ScriptedReply() = default;
  ScriptedReply(int s, std::string b = {}, std::vector<std::pair<std::string, std::string>> h = {},  // NOLINT
                std::chrono::milliseconds d = {})
      : status(s), body(std::move(b)), headers(std::move(h)), delay(d) {}
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type: application/json
  std::chrono::milliseconds delay{0};                        // before the reply is written
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string content_type;
  std::string authorization;
  std::string body;
};

struct TlsFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
};

class ProviderServer {
 public:
  explicit ProviderServer(std::vector<ScriptedReply> script, std::optional<TlsFiles> tls = std::nullopt);
  ~ProviderServer();
  ProviderServer(const ProviderServer&) = delete;
  ProviderServer& operator=(const ProviderServer&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:PORT" + path (https with TLS).
  std::string url(std::string_view path) const;
  std::vector<RecordedRequest> requests() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// A loopback port nothing listens on (bound, then closed), for "connection refused".
std::uint16_t closed_port();

// RFC 4648 base64, for the expected Authorization: Basic header.
std::string base64(std::string_view in);

// Decodes application/x-www-form-urlencoded into (name, value) pairs.
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body);

}  // namespace sinetti::sms::test
