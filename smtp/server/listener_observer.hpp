// ListenerObserver: what the SMTP listener reports for logs and metrics. Called from the sessions'
// strands, concurrently: implementations are thread-safe. Nothing passed here is secret (no message
// content, no password); user names and peer addresses are.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "smtp/server/asio.hpp"
#include "smtp/server/session_info.hpp"

namespace sinetti::smtp {

enum class Refusal { network, max_connections };
const char* to_string(Refusal r);

// How a session ended.
enum class SessionEnd {
  quit,           // 221 after QUIT
  client_closed,  // the client closed or reset the connection
  timeout,        // command or session deadline: 421
  errors,         // too many protocol errors: 421
  shutdown,       // the listener is draining: 421
  tls_failed,     // the STARTTLS handshake failed
  write_failed,   // a reply could not be written (or its deadline passed)
  cancelled,      // aborted at the end of the grace period
};
const char* to_string(SessionEnd e);

struct MessageOutcome {
  int code = 0;                     // the reply to the final "."; 0 when refused while arriving
  std::string_view enhanced;        // its enhanced status code
  std::uint64_t bytes = 0;          // message bytes received
  std::size_t recipients = 0;
  bool refused_while_arriving = false;  // size, bare LF, loop... (the ESMTP machine refused it)
};

struct SessionSummary {
  SessionEnd end = SessionEnd::quit;
  std::size_t messages_accepted = 0;  // 2xx after DATA
  std::size_t messages_rejected = 0;
  std::chrono::milliseconds duration{0};
};

class ListenerObserver {
 public:
  virtual ~ListenerObserver() = default;
  virtual void connection_refused(const asio::ip::tcp::endpoint& peer, Refusal why) = 0;
  virtual void session_started(const SessionInfo& session) = 0;
  virtual void tls_started(const SessionInfo& session) = 0;
  virtual void tls_failed(const SessionInfo& session, std::string_view reason) = 0;
  virtual void auth_result(const SessionInfo& session, std::string_view user, bool ok) = 0;
  virtual void message(const SessionInfo& session, const MessageOutcome& outcome) = 0;
  virtual void session_ended(const SessionInfo& session, const SessionSummary& summary) = 0;
  // A bug (an exception escaped a session); `what` is the exception's message.
  virtual void internal_error(std::string_view where, std::string_view what) = 0;
};

}  // namespace sinetti::smtp
