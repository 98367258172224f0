// One SMTP connection: the glue between a socket (plain, then TLS after STARTTLS) and the sans-IO
// ServerSession. Reads at most ListenerSettings::read_buffer bytes at a time and feeds them to the
// session; writes its replies; acts on its events (TLS handshake, AUTH, the message sink). Nothing is
// read while the host acts on an event, so a slow sink slows the client down instead of buffering.
// Every read, write and handshake has a deadline (a steady_timer that cancels the socket, so a 421
// can still be written after a timeout). Untrusted input: every byte from the client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinetti/clock.hpp"
#include "smtp/esmtp/server_session.hpp"
#include "smtp/server/asio.hpp"
#include "smtp/server/listener.hpp"
#include "smtp/server/listener_observer.hpp"
#include "smtp/server/message_sink.hpp"
#include "smtp/server/session_info.hpp"

namespace sinetti::smtp {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using tcp = asio::ip::tcp;

  // `socket`'s executor is the connection's strand.
  Connection(tcp::socket socket, std::shared_ptr<const ListenerSetup> setup, SessionInfo info, ListenerObserver& observer,
             const Clock& clock);
  ~Connection();

  tcp::socket::executor_type executor() { return socket_.get_executor(); }  // the connection's strand

  // The session, start to end; closes the socket when done.
  asio::awaitable<void> run();

  // Thread-safe: each posts to the connection's strand.
  void drain();   // finish the current transaction, then 421 and close; idle now: close now
  void cancel();  // abort

 private:
  enum class Io { ok, eof, timeout, aborted, error };

  asio::awaitable<void> flush();  // writes replies and acts on events until the session waits for input
  asio::awaitable<void> handle(Event& event);
  asio::awaitable<void> start_tls();
  asio::awaitable<void> authenticate(Event& event);
  asio::awaitable<void> data_begin();
  asio::awaitable<void> data_end();
  void data_abort();
  // Waits for input and reads what is there; `bytes` is valid until the next suspension (it may
  // point into a buffer shared by the connections of this thread).
  asio::awaitable<Io> read_some(std::string_view& bytes);
  asio::awaitable<Io> write(const std::string& bytes);
  void arm(std::chrono::steady_clock::duration limit);  // deadline for the next operation
  void disarm();
  std::chrono::steady_clock::duration op_limit() const;  // command timeout, cut by the session's end
  bool idle() const;
  void close();
  void end_as(SessionEnd e);  // the first reason given wins

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<const ListenerSetup> setup_;
  SessionInfo info_;
  ListenerObserver& observer_;
  const Clock& clock_;

  std::shared_ptr<crypto::TlsContext> tls_context_;  // outlives tls_
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;

  ServerSession* session_ = nullptr;  // run()'s, while it runs
  std::vector<char> buffer_;  // TLS reads only: allocated at the handshake (an idle plain connection holds none)
  std::chrono::steady_clock::time_point session_deadline_{};
  std::uint64_t deadline_generation_ = 0;
  bool timed_out_ = false;   // the armed deadline passed
  bool reading_ = false;     // waiting for client bytes
  bool draining_ = false;
  bool cancelled_ = false;
  bool closing_ = false;     // no more reads
  std::optional<SessionEnd> end_;
  SessionSummary summary_;

  // The transaction's sink (between data_begin and data_end/data_abort).
  std::unique_ptr<MessageSink> sink_;
  std::optional<Reply> refusal_;  // begin() refused the message
  std::uint64_t message_bytes_ = 0;
};

}  // namespace sinetti::smtp
