#include "smtp/client/smtp_transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <mutex>
#include <vector>

#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "crypto/tls_client.hpp"

namespace sinetti::smtp::client {

namespace beast = boost::beast;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;
constexpr std::size_t body_batch = 64 * 1024;

std::string this_host_name() {
  std::array<char, HOST_NAME_MAX + 1> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf.data();
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_loopback()) return true;
  return a.is_v6() && a.to_v6().is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
}

// The plain connection, or the TLS stream that took it over after STARTTLS.
class Connection {
 public:
  explicit Connection(asio::any_io_executor ex) : plain_(std::in_place, std::move(ex)) {}

  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  asio::ssl::stream<beast::tcp_stream>* tls() { return tls_ ? &*tls_ : nullptr; }

  void start_tls(asio::ssl::context& ctx) {
    tls_.emplace(std::move(*plain_), ctx);
    plain_.reset();
  }

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) {
    if (tls_) co_return co_await tls_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    co_return co_await plain_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> write(std::string_view bytes, error_code& ec) {
    const auto buf = asio::buffer(bytes.data(), bytes.size());
    if (tls_) co_await asio::async_write(*tls_, buf, asio::redirect_error(asio::use_awaitable, ec));
    else co_await asio::async_write(*plain_, buf, asio::redirect_error(asio::use_awaitable, ec));
  }

  void close() {
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }

 private:
  std::optional<beast::tcp_stream> plain_;
  std::optional<asio::ssl::stream<beast::tcp_stream>> tls_;
};

bool is_timeout(const error_code& ec) { return ec == beast::error::timeout; }

std::string describe(const error_code& ec) {
  if (ec == asio::error::eof) return "connection closed by the server";
  if (is_timeout(ec)) return "timed out";
  return ec.message();
}

DeliveryResult everyone(const Envelope& envelope, Outcome outcome, const std::string& status, const std::string& why) {
  DeliveryResult r;
  r.tls = "none";
  for (const auto& rcpt : envelope.recipients) r.recipients.push_back(RecipientOutcome{rcpt, outcome, status, 0, why});
  return r;
}

using Clock = std::chrono::steady_clock;

// QUIT and close, without waiting long for the 221: the connection carries nothing any more.
asio::awaitable<void> say_goodbye(std::unique_ptr<Connection> conn) {
  error_code ec;
  conn->tcp().expires_after(std::chrono::seconds(5));
  co_await conn->write("QUIT\r\n", ec);
  if (!ec) {
    std::array<char, 512> buf;
    (void)co_await conn->read_some(asio::buffer(buf), ec);
  }
  conn->close();
}

// A connection between deliveries: what its session learnt, and its idle timer. Touched only on
// the connection's own strand, or under the cache's mutex while it is parked.
struct Parked {
  std::uint64_t id = 0;
  std::unique_ptr<Connection> conn;
  Resumed state;
  std::string remote;
  std::string tls;
  bool loopback = false;       // the peer's address
  std::uint32_t messages = 0;  // delivered on it so far
  Clock::time_point opened;
  std::shared_ptr<asio::steady_timer> idle;
};

asio::awaitable<void> retire(Parked p) {
  if (p.idle) p.idle->cancel();
  co_await say_goodbye(std::move(p.conn));
}

void retire_detached(Parked p) {
  const auto ex = p.conn->tcp().get_executor();
  asio::co_spawn(ex, retire(std::move(p)), asio::detached);
}

// The parked connections of one transport. Deliveries take the most recently parked one, so a
// light load keeps few connections warm and the rest go idle and are closed.
class ConnectionCache : public std::enable_shared_from_this<ConnectionCache> {
 public:
  explicit ConnectionCache(RelayReuse limits) : limits_(limits) {}

  const RelayReuse& limits() const { return limits_; }

  std::optional<Parked> take() {
    std::lock_guard lock(mutex_);
    if (parked_.empty()) return std::nullopt;
    Parked p = std::move(parked_.back());
    parked_.pop_back();
    return p;
  }

  // The connection whose idle timer fired, if no delivery has taken it meanwhile.
  std::optional<Parked> take(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(parked_.begin(), parked_.end(), [id](const Parked& p) { return p.id == id; });
    if (it == parked_.end()) return std::nullopt;
    Parked p = std::move(*it);
    parked_.erase(it);
    return p;
  }

  // On the connection's strand, by the delivery that used it last.
  void park(Parked p) {
    p.idle = std::make_shared<asio::steady_timer>(p.conn->tcp().get_executor());
    p.idle->expires_after(limits_.idle);
    std::optional<Parked> evicted;
    {
      std::lock_guard lock(mutex_);
      if (closed_) {
        evicted = std::move(p);
      } else {
        p.id = ++next_id_;
        auto timer = p.idle;
        const auto id = p.id;
        asio::co_spawn(timer->get_executor(), expire(shared_from_this(), id, timer), asio::detached);
        parked_.push_back(std::move(p));
        if (parked_.size() > limits_.connections) {
          evicted = std::move(parked_.front());
          parked_.erase(parked_.begin());
        }
      }
    }
    if (evicted) retire_detached(std::move(*evicted));
  }

  // QUIT on every parked connection; `closing` also refuses to park any more.
  void close_all(bool closing) {
    std::vector<Parked> all;
    {
      std::lock_guard lock(mutex_);
      if (closing) closed_ = true;
      all.swap(parked_);
    }
    for (auto& p : all) retire_detached(std::move(p));
  }

 private:
  static asio::awaitable<void> expire(std::shared_ptr<ConnectionCache> self, std::uint64_t id,
                                      std::shared_ptr<asio::steady_timer> timer) {
    error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // cancelled: a delivery took the connection
    if (auto p = self->take(id)) co_await say_goodbye(std::move(p->conn));
  }

  RelayReuse limits_;
  std::mutex mutex_;
  std::vector<Parked> parked_;
  std::uint64_t next_id_ = 0;
  bool closed_ = false;
};

}  // namespace

struct SmtpTransport::Impl {
  SmtpRelay relay;
  std::string helo_name;
  std::unique_ptr<asio::ssl::context> tls_context;  // for require (verifying) or opportunistic
  std::shared_ptr<ConnectionCache> cache;           // null: a new connection per message

  ~Impl() {
    if (cache) cache->close_all(true);
  }

  struct Attempt {
    DeliveryResult result;
    bool handshake_failed = false;
  };

  std::chrono::milliseconds deadline(ClientSession::Stage stage) const {
    const auto& t = relay.timeouts;
    using S = ClientSession::Stage;
    switch (stage) {
      case S::greeting: return t.greeting;
      case S::rset: return std::min(t.rset, t.command);
      case S::data_init: return t.data_init;
      case S::data_block: return t.data_block;
      case S::data_end: return t.data_end;
      default: return t.command;
    }
  }

  // Whether the message about to go out on a connection may leave it open for another.
  bool keep_open(TlsPolicy policy, std::uint32_t messages_before, Clock::time_point opened) const {
    if (!cache || policy != relay.tls) return false;  // not the plaintext fallback of opportunistic
    return messages_before + 1 < cache->limits().messages && Clock::now() - opened < cache->limits().lifetime;
  }

  SessionOptions session_options(TlsPolicy policy, bool loopback, bool keep) const {
    SessionOptions options;
    options.helo_name = helo_name;
    options.tls = policy;
    options.credentials = relay.credentials;
    options.peer_is_loopback = loopback;
    options.use_pipelining = relay.pipelining;
    options.reply_limits = relay.reply_limits;
    options.keep_open = keep;
    return options;
  }

  asio::awaitable<Attempt> attempt(const Envelope& envelope, BodySource& body, TlsPolicy policy);
  // On a parked connection; nullopt when its RSET failed (nothing of the message was sent).
  asio::awaitable<std::optional<DeliveryResult>> reuse(Parked parked, const Envelope& envelope, BodySource& body);
  asio::awaitable<void> converse(Connection& conn, ClientSession& session, BodySource& body, TlsPolicy policy,
                                 std::string& tls_state, bool& handshake_failed);
  // After a session: park the connection when it may carry another message, else close it.
  void finish(Parked p, const ClientSession& session);
};

asio::awaitable<void> SmtpTransport::Impl::converse(Connection& conn, ClientSession& session, BodySource& body,
                                                    TlsPolicy policy, std::string& tls_state, bool& handshake_failed) {
  const bool verify = policy == TlsPolicy::require;
  error_code ec;
  std::array<char, read_chunk> buffer;
  // While the body streams, its pieces are gathered up to body_batch and written together, so a
  // small message and the end of data (".") leave in one write. Written one piece at a time, the
  // "." waited under Nagle's algorithm for the ACK of the piece before it, which the server delays
  // (it answers only after the "."): about 40 ms per message on Linux.
  std::string output;
  while (session.want() != ClientSession::Want::done) {
    output += session.take_output();
    const bool gathering = session.want() == ClientSession::Want::body && output.size() < body_batch;
    if (!output.empty() && !gathering) {
      conn.tcp().expires_after(session.want() == ClientSession::Want::body ||
                                       session.stage() == ClientSession::Stage::data_end
                                   ? relay.timeouts.data_block
                                   : relay.timeouts.command);
      co_await conn.write(output, ec);
      output.clear();
      if (ec) {
        if (is_timeout(ec)) session.timed_out();
        else session.connection_lost(describe(ec));
        continue;
      }
    }
    switch (session.want()) {
      case ClientSession::Want::read: {
        conn.tcp().expires_after(deadline(session.stage()));
        const std::size_t n = co_await conn.read_some(asio::buffer(buffer), ec);
        if (ec) {
          if (is_timeout(ec)) session.timed_out();
          else session.connection_lost(describe(ec));
        } else {
          session.feed(std::string_view(buffer.data(), n));
        }
        break;
      }
      case ClientSession::Want::tls_handshake: {
        conn.start_tls(*tls_context);
        auto* tls = conn.tls();
        if (auto err = crypto::configure_client_connection(tls->native_handle(), relay.host, verify)) {
          session.tls_failed(err->message);
          handshake_failed = true;
          break;
        }
        conn.tcp().expires_after(relay.timeouts.command);
        co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          std::string why = crypto::verify_failure(tls->native_handle());
          why = why.empty() ? describe(ec) : "certificate verification failed: " + why;
          session.tls_failed(why);
          handshake_failed = true;
        } else {
          tls_state = crypto::protocol_version(tls->native_handle()) + (verify ? " verified" : " unverified");
          session.tls_started(verify);
        }
        break;
      }
      case ClientSession::Want::body: {
        auto piece = co_await body.next();
        if (!piece) {
          session.body_failed(piece.error().message);
          output.clear();  // no part of a message that cannot be read in full
        } else if (*piece) {
          session.body(**piece);
        } else {
          session.end_body();
        }
        break;
      }
      case ClientSession::Want::done: break;
    }
  }
}

void SmtpTransport::Impl::finish(Parked p, const ClientSession& session) {
  if (cache && session.reusable()) {
    p.state = session.resumed();
    cache->park(std::move(p));
    return;
  }
  p.conn->close();  // the session said QUIT, or the connection is beyond use
}

asio::awaitable<SmtpTransport::Impl::Attempt> SmtpTransport::Impl::attempt(const Envelope& envelope, BodySource& body,
                                                                           TlsPolicy policy) {
  Attempt out;
  const auto ex = co_await asio::this_coro::executor;
  error_code ec;
  const std::string where = relay.host + ":" + std::to_string(relay.port);

  tcp::resolver resolver(ex);
  const auto endpoints = co_await resolver.async_resolve(relay.host, std::to_string(relay.port),
                                                         tcp::resolver::numeric_service,
                                                         asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.result = everyone(envelope, Outcome::deferred, "4.4.3", "cannot resolve " + relay.host + ": " + ec.message());
    out.result.remote = where;
    co_return out;
  }

  Parked p;
  p.conn = std::make_unique<Connection>(ex);
  p.opened = Clock::now();
  p.conn->tcp().expires_after(relay.timeouts.connect);
  const tcp::endpoint peer =
      co_await p.conn->tcp().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.result = everyone(envelope, Outcome::deferred, "4.4.1", "connect to " + where + ": " + describe(ec));
    out.result.remote = where;
    co_return out;
  }
  p.remote = relay.host + "[" + peer.address().to_string() + "]:" + std::to_string(peer.port());
  p.tls = "none";
  p.loopback = is_loopback(peer.address());

  ClientSession session(session_options(policy, p.loopback, keep_open(policy, 0, p.opened)), envelope);
  co_await converse(*p.conn, session, body, policy, p.tls, out.handshake_failed);
  out.result = session.result();
  out.result.remote = p.remote;
  out.result.tls = p.tls;
  p.messages = 1;
  finish(std::move(p), session);
  co_return out;
}

asio::awaitable<std::optional<DeliveryResult>> SmtpTransport::Impl::reuse(Parked p, const Envelope& envelope,
                                                                         BodySource& body) {
  if (p.idle) p.idle->cancel();  // on this strand, where its expiry waits
  p.idle.reset();
  ClientSession session(session_options(relay.tls, p.loopback, keep_open(relay.tls, p.messages, p.opened)), envelope,
                        p.state);
  bool handshake_failed = false;
  co_await converse(*p.conn, session, body, relay.tls, p.tls, handshake_failed);
  if (session.probe_failed()) {
    p.conn->close();
    co_return std::nullopt;
  }
  DeliveryResult result = session.result();
  result.remote = p.remote;
  result.tls = p.tls;
  ++p.messages;
  finish(std::move(p), session);
  co_return result;
}

SmtpTransport::SmtpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmtpTransport::~SmtpTransport() = default;

const SmtpRelay& SmtpTransport::relay() const { return impl_->relay; }

Result<std::unique_ptr<SmtpTransport>> SmtpTransport::create(SmtpRelay relay) {
  if (relay.host.empty()) return make_error("relay: no host");
  auto impl = std::make_unique<Impl>();
  impl->helo_name = relay.helo_name.empty() ? this_host_name() : relay.helo_name;
  if (relay.tls != TlsPolicy::none) {
    impl->tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    crypto::TlsClientOptions options;
    options.verify = relay.tls == TlsPolicy::require;
    options.ca_file = relay.ca_file;
    if (auto err = crypto::configure_client_context(impl->tls_context->native_handle(), options)) return *err;
  }
  if (relay.reuse.messages > 1 && relay.reuse.idle.count() > 0 && relay.reuse.connections > 0) {
    impl->cache = std::make_shared<ConnectionCache>(relay.reuse);
  }
  impl->relay = std::move(relay);
  return std::unique_ptr<SmtpTransport>(new SmtpTransport(std::move(impl)));
}

asio::awaitable<DeliveryResult> SmtpTransport::deliver(const Envelope& envelope, BodySource& body) {
  if (impl_->cache) {
    if (auto parked = impl_->cache->take()) {
      // On the connection's own strand, where its socket, deadlines and idle timer live.
      const auto ex = parked->conn->tcp().get_executor();
      auto reused = co_await asio::co_spawn(ex, impl_->reuse(std::move(*parked), envelope, body), asio::use_awaitable);
      if (reused) co_return std::move(*reused);
      // The parked connection no longer answers: the server most likely restarted, and the other
      // parked ones are as dead. The message goes out on a new connection.
      impl_->cache->close_all(false);
    }
  }
  // A strand of its own: the socket, its deadlines and the body source all run there.
  const auto strand = asio::make_strand(co_await asio::this_coro::executor);
  auto first = co_await asio::co_spawn(strand, impl_->attempt(envelope, body, impl_->relay.tls), asio::use_awaitable);
  if (first.handshake_failed && impl_->relay.tls == TlsPolicy::opportunistic) {
    auto second = co_await asio::co_spawn(strand, impl_->attempt(envelope, body, TlsPolicy::none), asio::use_awaitable);
    co_return std::move(second.result);
  }
  co_return std::move(first.result);
}

void SmtpTransport::close_idle() {
  if (impl_->cache) impl_->cache->close_all(true);
}

Result<SmtpRelay> relay_from_config(const config::Relay& c) {
  SmtpRelay r;
  r.host = c.host;
  r.port = c.port;
  r.tls = c.tls == config::RelayTls::require         ? TlsPolicy::require
          : c.tls == config::RelayTls::opportunistic ? TlsPolicy::opportunistic
                                                     : TlsPolicy::none;
  r.ca_file = c.ca_file;
  r.helo_name = c.helo_name;
  if (c.auth) {
    auto password = config::read_secret(c.auth->password);
    if (!password) return make_error("delivery.relay.auth.password: " + password.error().message);
    r.credentials = Credentials{c.auth->username, std::move(*password)};
  }
  r.timeouts.connect = c.timeouts.connect;
  r.timeouts.greeting = c.timeouts.greeting;
  r.timeouts.command = c.timeouts.command;
  r.timeouts.data_init = c.timeouts.data_init;
  r.timeouts.data_block = c.timeouts.data_block;
  r.timeouts.data_end = c.timeouts.data_end;
  r.reuse.idle = c.reuse.idle;
  r.reuse.messages = c.reuse.messages;
  r.reuse.lifetime = c.reuse.lifetime;
  return r;
}

}  // namespace sinetti::smtp::client
