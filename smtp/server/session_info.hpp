// What the layers above the SMTP adapter learn about a session and a transaction: who is connected,
// on which listener, with what TLS and authentication state, and the envelope of a message. Plain
// values; addresses are as the client sent them (syntax-checked by the ESMTP machine).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "smtp/server/asio.hpp"

namespace sinetti::smtp {

struct SessionInfo {
  std::string id;           // random, unique per connection; in every log line of the session
  std::string listener;     // the listener's configured name
  config::ListenerRole role = config::ListenerRole::inbound;
  std::string hostname;     // ours, as in the greeting
  asio::ip::tcp::endpoint peer;
  asio::ip::tcp::endpoint local;
  bool trusted_network = false;  // the peer is in the listener's (non-empty) allowed_networks
  bool tls = false;              // STARTTLS completed
  std::string tls_protocol;      // "TLSv1.3"
  std::string tls_cipher;        // "TLS_AES_256_GCM_SHA384"
  std::optional<std::string> auth_user;  // AUTH succeeded as this user
  std::string helo;              // the client's HELO/EHLO name (as sent; for the Received: field)
  bool esmtp = false;            // it said EHLO
  std::chrono::system_clock::time_point started;
};

// One transaction's envelope, complete when DATA begins.
struct Envelope {
  std::string sender;                   // empty for the null reverse-path <>
  std::vector<std::string> recipients;  // as accepted, any protection suffix still on
};

}  // namespace sinetti::smtp
