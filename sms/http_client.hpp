// A small blocking HTTP client for SMS providers: one request, one reply, libcurl underneath (the only
// place in sms/ that includes curl). TLS verification is always on (system CAs, or one extra CA file
// for tests); redirects are not followed; every request has a deadline and the reply a size cap.
// Untrusted input: the provider's reply (status, headers, body).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::sms {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as "Name: value"
  std::string body;
  enum class Auth { none, basic, bearer } auth = Auth::none;
  std::string username;  // basic
  std::string password;  // basic; bearer: the token
  std::chrono::milliseconds timeout{10'000};  // the whole exchange, connecting included
  std::optional<std::filesystem::path> ca_file;  // trust these CAs instead of the system's (tests)
  std::size_t max_reply_bytes = 64 * 1024;
};

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::optional<std::string> retry_after;  // the Retry-After header, as sent
  std::string body;
};

// Why no reply arrived.
enum class HttpFailure {
  none,            // a reply arrived (any status)
  connect,         // name resolution or TCP connection failed
  timeout,         // the deadline passed
  network,         // the connection broke during the exchange
  tls,             // the peer's certificate did not verify, or the CA file is unusable
  reply_too_large, // the body exceeded max_reply_bytes
  request,         // the request itself is unusable (bad URL, unsupported scheme)
};
const char* to_string(HttpFailure f);

struct HttpOutcome {
  HttpFailure failure = HttpFailure::none;
  std::string error;  // when failure != none: libcurl's explanation (no credentials in it)
  HttpReply reply;    // when failure == none
};

// Performs one request. Thread-safe: each call uses its own connection.
HttpOutcome perform(const HttpRequest& request);

// The host of an http(s) URL ("gatewayapi.eu"), or an error if the URL does not parse.
Result<std::string> url_host(const std::string& url);

}  // namespace sinetti::sms
