#include "gateway/server/admin_listener.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace sinetti::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// One accepted connection. The session coroutine owns it; drain() and cancel() reach it through a
// weak reference and touch the stream only on the connection's strand.
struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;  // its executor is the connection's strand
  bool reading = false;      // waiting for a request (strand only)
};

}  // namespace

struct AdminListener::Shared {
  Shared(asio::io_context& io_context, config::ListenAddress addr, StateProvider provider, const log::Logger& log,
         Options opts)
      : io(io_context),
        strand(asio::make_strand(io_context)),
        acceptor(strand),
        address(std::move(addr)),
        state(std::move(provider)),
        logger(log),
        options(opts) {}

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;  // the acceptor's
  tcp::acceptor acceptor;
  tcp::endpoint endpoint;
  config::ListenAddress address;
  StateProvider state;
  const log::Logger& logger;
  Options options;

  std::atomic<bool> draining{false};
  std::atomic<std::size_t> active{0};
  std::mutex mutex;  // guards connections, next_id
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections;
  std::uint64_t next_id = 0;

  std::vector<std::shared_ptr<Connection>> live_connections() {
    std::vector<std::shared_ptr<Connection>> out;
    std::lock_guard lock(mutex);
    for (const auto& [id, weak] : connections) {
      if (auto c = weak.lock()) out.push_back(std::move(c));
    }
    return out;
  }
};

namespace {

using Shared = AdminListener::Shared;

// Keeps the connection registered for as long as its session runs.
class Registration {
 public:
  Registration(std::shared_ptr<Shared> shared, std::uint64_t id) : shared_(std::move(shared)), id_(id) {}
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->connections.erase(id_);
    }
    shared_->active.fetch_sub(1);
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::uint64_t id_;
};

http::response<http::string_body> to_http(const AdminResponse& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  if (!r.allow.empty()) res.set(http::field::allow, r.allow);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

// Parse errors that deserve an answer before closing; other errors (end of stream, timeout, reset,
// cancellation) just close.
std::optional<int> error_status(const error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return 431;
  if (ec == http::error::body_limit || ec == http::error::unexpected_body) return 413;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) return 400;
  return std::nullopt;
}

asio::awaitable<void> session(std::shared_ptr<Shared> shared, std::shared_ptr<Connection> c, std::uint64_t id) {
  Registration registration(shared, id);
  const auto& options = shared->options;
  // The parser stops at header_limit; the buffer cap also bounds what a pipelining client queues.
  beast::flat_buffer buffer(options.header_limit * 2);
  error_code ec;
  while (!shared->draining.load()) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(std::uint64_t{0});
    c->reading = true;
    c->stream.expires_after(options.read_timeout);
    co_await http::async_read(c->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    c->reading = false;
    if (ec) {
      if (const auto status = error_status(ec)) {
        auto res = to_http(admin_error(*status), 11, false);
        c->stream.expires_after(options.write_timeout);
        co_await http::async_write(c->stream, res, asio::redirect_error(asio::use_awaitable, ec));
      }
      break;
    }
    const auto& req = parser.get();
    const std::string_view method(req.method_string().data(), req.method_string().size());
    const std::string_view target(req.target().data(), req.target().size());
    const AdminResponse answer = handle_admin(AdminRequest{method, target}, shared->state());
    const bool keep_alive = req.keep_alive() && !shared->draining.load();
    auto res = to_http(answer, req.version(), keep_alive);
    c->stream.expires_after(options.write_timeout);
    co_await http::async_write(c->stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  c->stream.close();
}

void log_exception(const log::Logger& logger, std::string_view where, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logger.error("internal_error", {{"listener", "admin"}, {"in", where}, {"error", ex.what()}});
  } catch (...) {
    logger.error("internal_error", {{"listener", "admin"}, {"in", where}});
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<Shared> shared) {
  asio::steady_timer backoff(shared->strand);
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await shared->acceptor.async_accept(asio::make_strand(shared->io),
                                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (shared->draining.load() || !shared->acceptor.is_open()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or memory: say so, wait a moment, and try again rather than spin.
      shared->logger.warning("accept_failed", {{"listener", "admin"}, {"error", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (shared->active.load() >= shared->options.max_connections) {
      socket.close(ec);
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(socket));
    std::uint64_t id = 0;
    {
      std::lock_guard lock(shared->mutex);
      id = shared->next_id++;
      shared->connections.emplace(id, connection);
    }
    shared->active.fetch_add(1);
    auto executor = connection->stream.get_executor();
    asio::co_spawn(executor, session(shared, std::move(connection), id),
                   [&logger = shared->logger](std::exception_ptr e) { log_exception(logger, "session", e); });
  }
}

}  // namespace

std::string format_endpoint(const tcp::endpoint& endpoint) {
  const auto a = endpoint.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

Result<asio::ip::address> bind_address(const config::ListenAddress& address) {
  if (address.host == "localhost") return asio::ip::address(asio::ip::address_v4::loopback());
  error_code ec;
  const auto a = asio::ip::make_address(address.host, ec);
  if (ec) return make_error("'" + address.host + "' is not an IP address");
  return a;
}

AdminListener::AdminListener(asio::io_context& io, config::ListenAddress address, StateProvider state,
                             const log::Logger& logger, Options options)
    : shared_(std::make_shared<Shared>(io, std::move(address), std::move(state), logger, options)) {}

AdminListener::~AdminListener() {
  // The accept loop may still hold `shared_`; close the acceptor so it ends.
  drain();
}

std::optional<Error> AdminListener::start() {
  auto& s = *shared_;
  const auto where = "admin: cannot listen on " + s.address.str() + ": ";
  const auto host = bind_address(s.address);
  if (!host) return make_error(where + host.error().message);
  const tcp::endpoint endpoint(*host, s.address.port);
  error_code ec;
  if (s.acceptor.open(endpoint.protocol(), ec); ec) return make_error(where + ec.message());
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (s.acceptor.bind(endpoint, ec); ec) return make_error(where + ec.message());
  if (s.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return make_error(where + ec.message());
  s.endpoint = s.acceptor.local_endpoint(ec);
  if (ec) return make_error(where + ec.message());
  s.logger.info("listening", {{"listener", "admin"}, {"address", format_endpoint(s.endpoint)}});
  asio::co_spawn(s.strand, accept_loop(shared_),
                 [&logger = s.logger](std::exception_ptr e) { log_exception(logger, "accept", e); });
  return std::nullopt;
}

void AdminListener::drain() {
  if (shared_->draining.exchange(true)) return;
  asio::post(shared_->strand, [s = shared_] {
    error_code ec;
    s->acceptor.close(ec);
  });
  // Idle connections close now; one in the middle of a request finishes it and then closes.
  for (auto& c : shared_->live_connections()) {
    asio::post(c->stream.get_executor(), [c] {
      if (c->reading) c->stream.cancel();
    });
  }
}

std::size_t AdminListener::active() const { return shared_->active.load(); }

void AdminListener::cancel() {
  for (auto& c : shared_->live_connections()) {
    asio::post(c->stream.get_executor(), [c] { c->stream.cancel(); });
  }
}

tcp::endpoint AdminListener::local_endpoint() const { return shared_->endpoint; }

}  // namespace sinetti::server
