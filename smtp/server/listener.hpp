// The SMTP listener: accepts connections on one address and runs the sans-IO ESMTP machine
// (smtp/esmtp/server_session.hpp) for each in a coroutine on its own strand (connection.hpp). At
// accept it enforces allowed_networks (outside: 554 5.7.1 and close, unless the listener offers AUTH,
// which outside clients must then use) and max_connections (over: 421 and close). drain() stops
// accepting and lets sessions finish their transaction (idle ones get 421); cancel() aborts.
// Untrusted input: connections from whoever reaches the address.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "crypto/tls_context.hpp"
#include "sinetti/clock.hpp"
#include "sinetti/result.hpp"
#include "smtp/esmtp/server_session.hpp"
#include "smtp/server/asio.hpp"
#include "smtp/server/authenticator.hpp"
#include "smtp/server/listener_observer.hpp"
#include "smtp/server/message_sink.hpp"
#include "smtp/server/recipient_policy.hpp"

namespace sinetti::smtp {

struct ListenerSettings {
  std::string name = "smtp";
  config::ListenerRole role = config::ListenerRole::inbound;
  std::string hostname = "localhost";  // in the greeting and replies
  SessionLimits limits;
  bool require_tls = false;
  std::vector<config::IpNetwork> allowed_networks;  // empty: anyone may connect
  std::size_t max_connections = 1000;
  // Idle time allowed while waiting for a command or a piece of DATA (RFC 5321 §4.5.3.2: at least 5
  // minutes); also the deadline of every write and of the TLS handshake. Reads and the handshake
  // are cut short by the session's end; a write is not, so the closing 421 can still go out.
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds session_timeout{std::chrono::minutes(30)};  // the whole session
  std::size_t read_buffer = 64 * 1024;  // bytes read from the socket at a time
};

// Everything a new session uses. Replaced as a whole on reload; running sessions keep theirs.
struct ListenerSetup {
  ListenerSettings settings;
  std::shared_ptr<crypto::ServerTlsContext> tls;  // null: no STARTTLS
  std::shared_ptr<Authenticator> authenticator;   // null: no AUTH
  std::shared_ptr<const RecipientPolicy> policy;  // required
  std::shared_ptr<MessageSinkFactory> sinks;      // required
};

class Listener {
 public:
  // `observer` and `clock` must outlive the listener and every session it started.
  Listener(asio::io_context& io, std::shared_ptr<const ListenerSetup> setup, ListenerObserver& observer,
           const Clock& clock);
  ~Listener();  // drain(); the sessions themselves hold what they need
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds, listens and starts accepting. The error is one line, e.g. "Address already in use".
  std::optional<Error> listen(const asio::ip::tcp::endpoint& endpoint);
  asio::ip::tcp::endpoint local_endpoint() const;  // after listen(); the kernel's port for port 0

  // New sessions use `setup` from now on. Thread-safe.
  void update(std::shared_ptr<const ListenerSetup> setup);
  std::shared_ptr<const ListenerSetup> setup() const;

  void drain();                // thread-safe; idempotent
  void cancel();               // thread-safe; may be called again
  std::size_t active() const;  // sessions running. Thread-safe.

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace sinetti::smtp
