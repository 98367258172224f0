#include "smtp/server/connection.hpp"

#include <algorithm>
#include <cstring>

#include "crypto/tls_context.hpp"

namespace sinetti::smtp {

using boost::system::error_code;

namespace {

// The session's synchronous checks, answered by the listener's policy with the session's current state.
class PolicyHandler final : public SessionHandler {
 public:
  PolicyHandler(const RecipientPolicy& policy, const SessionInfo& info) : policy_(policy), info_(info) {}
  std::optional<Reply> check_sender(std::string_view address) override { return policy_.check_sender(info_, address); }
  std::optional<Reply> check_recipient(std::string_view address) override {
    return policy_.check_recipient(info_, address);
  }

 private:
  const RecipientPolicy& policy_;
  const SessionInfo& info_;
};

// The code of the last reply line in `wire` ("...\r\n221 2.0.0 Bye\r\n" -> 221); 0 if none.
int last_reply_code(const std::string& wire) {
  if (wire.size() < 5) return 0;
  const auto end = wire.size() - 2;
  const auto start = wire.rfind("\r\n", end - 1);
  const std::size_t at = start == std::string::npos ? 0 : start + 2;
  if (at + 3 > wire.size()) return 0;
  int code = 0;
  for (std::size_t i = at; i < at + 3; ++i) {
    if (wire[i] < '0' || wire[i] > '9') return 0;
    code = code * 10 + (wire[i] - '0');
  }
  return code;
}

void wipe(std::string& s) {
  // volatile so the stores are not optimised away before the string is freed.
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace

Connection::Connection(tcp::socket socket, std::shared_ptr<const ListenerSetup> setup, SessionInfo info,
                       ListenerObserver& observer, const Clock& clock)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      setup_(std::move(setup)),
      info_(std::move(info)),
      observer_(observer),
      clock_(clock) {}

Connection::~Connection() {
  if (sink_) sink_->abort();
}

void Connection::end_as(SessionEnd e) {
  if (!end_) end_ = e;
}

std::chrono::steady_clock::duration Connection::op_limit() const {
  const auto left = session_deadline_ - clock_.steady_now();
  return std::max<std::chrono::steady_clock::duration>(std::chrono::steady_clock::duration::zero(),
                                                       std::min<std::chrono::steady_clock::duration>(setup_->settings.command_timeout, left));
}

void Connection::arm(std::chrono::steady_clock::duration limit) {
  const std::uint64_t generation = ++deadline_generation_;
  timed_out_ = false;
  timer_.expires_after(limit);
  timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
    if (ec || generation != self->deadline_generation_) return;
    self->timed_out_ = true;
    error_code ignored;
    self->socket_.cancel(ignored);
  });
}

void Connection::disarm() {
  ++deadline_generation_;
  timer_.cancel();
}

bool Connection::idle() const {
  return session_ != nullptr && session_->state() == ServerSession::State::command && !session_->in_transaction();
}

void Connection::drain() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    if (self->reading_ && self->idle()) {
      error_code ignored;
      self->socket_.cancel(ignored);  // run() sees draining_ and closes with 421
    }
  });
}

void Connection::cancel() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->cancelled_ = true;
    error_code ignored;
    self->socket_.cancel(ignored);
  });
}

void Connection::close() {
  disarm();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

asio::awaitable<Connection::Io> Connection::read_some(std::string_view& bytes) {
  error_code ec;
  arm(op_limit());
  reading_ = true;
  if (tls_) {
    if (buffer_.empty()) buffer_.resize(std::max<std::size_t>(setup_->settings.read_buffer, 1024));
    const std::size_t n =
        co_await tls_->async_read_some(asio::buffer(buffer_), asio::redirect_error(asio::use_awaitable, ec));
    bytes = std::string_view(buffer_.data(), n);
  } else {
    // An idle connection holds no read buffer: wait until the socket is readable, then read at once
    // (no suspension in between) into this thread's buffer. 10,000 idle sessions then cost little
    // more than their sockets and session state.
    co_await socket_.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      thread_local std::vector<char> shared(64 * 1024);
      if (shared.size() < setup_->settings.read_buffer) shared.resize(setup_->settings.read_buffer);
      // Set once per connection: each call is an ioctl, and asio remembers the mode.
      if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
      std::size_t n = 0;
      if (!ec) n = socket_.read_some(asio::buffer(shared.data(), std::max<std::size_t>(setup_->settings.read_buffer, 1024)), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec.clear();  // spurious readiness: nothing read, the loop waits again
        n = 0;
      }
      bytes = std::string_view(shared.data(), n);
    }
  }
  reading_ = false;
  const bool expired = timed_out_;
  disarm();
  if (!ec) co_return Io::ok;
  if (cancelled_) co_return Io::aborted;
  if (expired) co_return Io::timeout;
  if (ec == asio::error::operation_aborted) co_return Io::aborted;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return Io::eof;
  co_return Io::error;
}

asio::awaitable<Connection::Io> Connection::write(const std::string& bytes) {
  error_code ec;
  // Not cut by the session's deadline: the 421 that announces it must still get its chance.
  arm(setup_->settings.command_timeout);
  if (tls_) {
    co_await asio::async_write(*tls_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(socket_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  }
  const bool expired = timed_out_;
  disarm();
  if (!ec) co_return Io::ok;
  if (cancelled_) co_return Io::aborted;
  co_return expired ? Io::timeout : Io::error;
}

asio::awaitable<void> Connection::run() {
  const auto& settings = setup_->settings;
  session_deadline_ = clock_.steady_now() + settings.session_timeout;
  SessionPolicy policy;
  policy.hostname = settings.hostname;
  policy.tls_available = setup_->tls != nullptr;
  policy.require_tls = settings.require_tls;
  policy.auth_available = setup_->authenticator != nullptr;
  // Clients inside the allowed networks may submit without AUTH; everyone else must use it.
  policy.require_auth = setup_->authenticator != nullptr && !info_.trusted_network;
  PolicyHandler handler(*setup_->policy, info_);
  ServerSession session(policy, settings.limits, handler);
  session_ = &session;
  const auto started = clock_.steady_now();
  observer_.session_started(info_);

  session.greet();
  co_await flush();
  while (!closing_) {
    if (cancelled_) {
      end_as(SessionEnd::cancelled);
      break;
    }
    if (draining_ && idle()) {
      session.shutdown();
      end_as(SessionEnd::shutdown);
      co_await flush();
      break;
    }
    if (op_limit() == std::chrono::steady_clock::duration::zero()) {
      session.timeout();
      end_as(SessionEnd::timeout);
      co_await flush();
      break;
    }
    std::string_view bytes;
    const Io io = co_await read_some(bytes);
    if (io == Io::ok) {
      if (bytes.empty()) continue;
      session.feed(bytes);
      co_await flush();
      continue;
    }
    if (io == Io::timeout) {
      session.timeout();
      end_as(SessionEnd::timeout);
      co_await flush();
      break;
    }
    if (io == Io::aborted && !cancelled_) continue;  // drain() woke an idle read; the loop head decides
    end_as(io == Io::aborted ? SessionEnd::cancelled : SessionEnd::client_closed);
    break;
  }
  data_abort();
  session_ = nullptr;
  close();
  summary_.end = end_.value_or(SessionEnd::client_closed);
  summary_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - started);
  observer_.session_ended(info_, summary_);
}

asio::awaitable<void> Connection::flush() {
  while (!closing_) {
    if (cancelled_) {
      end_as(SessionEnd::cancelled);
      closing_ = true;
      co_return;
    }
    const std::string out = session_->take_output();
    auto events = session_->take_events();
    if (out.empty() && events.empty()) co_return;
    if (!out.empty()) {
      const int code = last_reply_code(out);
      const Io io = co_await write(out);
      if (io != Io::ok) {
        end_as(io == Io::aborted ? SessionEnd::cancelled : SessionEnd::write_failed);
        closing_ = true;
        co_return;
      }
      if (code == 221) end_as(SessionEnd::quit);
      else if (code == 421) end_as(SessionEnd::errors);  // unless timeout/shutdown said so first
    }
    for (auto& event : events) {
      if (closing_) break;
      co_await handle(event);
    }
  }
}

asio::awaitable<void> Connection::handle(Event& event) {
  switch (event.kind) {
    case Event::Kind::start_tls: co_await start_tls(); break;
    case Event::Kind::auth: co_await authenticate(event); break;
    case Event::Kind::data_begin: co_await data_begin(); break;
    case Event::Kind::data:
      message_bytes_ += event.text.size();
      if (sink_) co_await sink_->data(event.text);
      break;
    case Event::Kind::data_end: co_await data_end(); break;
    case Event::Kind::data_abort: {
      MessageOutcome outcome;
      outcome.bytes = message_bytes_;
      outcome.recipients = session_->recipients().size();
      outcome.refused_while_arriving = true;
      data_abort();
      ++summary_.messages_rejected;
      observer_.message(info_, outcome);
      break;
    }
    case Event::Kind::close: closing_ = true; break;
    case Event::Kind::mail_from:
    case Event::Kind::rcpt_to:
    case Event::Kind::reset: break;
  }
}

asio::awaitable<void> Connection::start_tls() {
  // The 220 is written; the handshake reads the socket directly. Bytes the client pipelined after
  // STARTTLS were discarded by the session and never reach the TLS layer or the session (RFC 3207 §4.2).
  if (!setup_->tls) {
    closing_ = true;
    co_return;
  }
  tls_context_ = setup_->tls->current();
  tls_.emplace(socket_, *tls_context_);
  error_code ec;
  arm(op_limit());
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  const bool expired = timed_out_;
  disarm();
  if (ec) {
    end_as(cancelled_ ? SessionEnd::cancelled : SessionEnd::tls_failed);
    observer_.tls_failed(info_, expired ? std::string("timeout") : ec.message());
    closing_ = true;
    co_return;
  }
  const auto negotiated = crypto::tls_session_info(tls_->native_handle());
  info_.tls = true;
  info_.tls_protocol = negotiated.protocol;
  info_.tls_cipher = negotiated.cipher;
  session_->tls_started();
  observer_.tls_started(info_);
}

asio::awaitable<void> Connection::authenticate(Event& event) {
  std::string user = event.text;
  bool ok = false;
  if (setup_->authenticator) {
    try {
      ok = co_await setup_->authenticator->verify(user, std::move(event.secret));
    } catch (const boost::system::system_error&) {
      // The worker pool is stopping: the gateway is going away.
      wipe(event.secret);
      end_as(SessionEnd::cancelled);
      closing_ = true;
      co_return;
    }
  }
  wipe(event.secret);
  if (cancelled_) {
    closing_ = true;
    co_return;
  }
  if (ok) info_.auth_user = user;
  observer_.auth_result(info_, user, ok);
  session_->auth_result(ok);
}

asio::awaitable<void> Connection::data_begin() {
  message_bytes_ = 0;
  refusal_.reset();
  info_.helo = session_->helo();
  info_.esmtp = session_->esmtp();
  sink_ = setup_->sinks->open(info_);
  Envelope envelope{session_->sender(), session_->recipients()};
  refusal_ = co_await sink_->begin(info_, envelope);
  if (refusal_) {
    sink_->abort();
    sink_.reset();
  }
}

asio::awaitable<void> Connection::data_end() {
  Reply reply;
  if (refusal_) {
    reply = *std::exchange(refusal_, std::nullopt);
  } else if (sink_) {
    reply = co_await sink_->end();
    sink_.reset();
  } else {
    reply = Reply{451, "4.3.0", {"Error: message not stored; try again later"}};
  }
  MessageOutcome outcome;
  outcome.code = reply.code;
  outcome.enhanced = reply.enhanced;
  outcome.bytes = message_bytes_;
  outcome.recipients = session_->recipients().size();
  if (reply.code >= 200 && reply.code < 300) ++summary_.messages_accepted;
  else ++summary_.messages_rejected;
  observer_.message(info_, outcome);
  session_->data_result(reply);
}

void Connection::data_abort() {
  if (sink_) {
    sink_->abort();
    sink_.reset();
  }
  refusal_.reset();
}

}  // namespace sinetti::smtp
