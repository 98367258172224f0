#include "gateway/portal/portal_listener.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "crypto/tls_context.hpp"
#include "gateway/auth/curl_http.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/portal/body_pipe.hpp"
#include "gateway/portal/handler.hpp"
#include "gateway/portal/phone_tails.hpp"
#include "gateway/portal/router.hpp"
#include "gateway/server/admin_listener.hpp"

namespace sinetti::portal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

struct Connection {
  Connection(tcp::socket socket, std::shared_ptr<crypto::TlsContext> context, const config::Portal& portal)
      : tls(std::move(context)),
        stream(std::move(socket), *tls),
        handshake_timeout(portal.handshake_timeout),
        request_timeout(portal.request_timeout),
        write_timeout(portal.write_timeout) {}
  std::shared_ptr<crypto::TlsContext> tls;  // kept for the connection's life
  beast::ssl_stream<beast::tcp_stream> stream;
  // The deadlines of the configuration the connection was accepted under.
  std::chrono::steady_clock::duration handshake_timeout;
  std::chrono::steady_clock::duration request_timeout;
  std::chrono::steady_clock::duration write_timeout;
  bool reading = false;                  // strand only: waiting for a request
  std::shared_ptr<BodyPipe> pipe;        // strand only: the download in progress
};

const char* route_label(RouteKind k) {
  switch (k) {
    case RouteKind::landing: return "landing";
    case RouteKind::pin: return "pin";
    case RouteKind::unlock: return "unlock";
    case RouteKind::pin_missing: return "no_pin";
    case RouteKind::read: return "read";
    case RouteKind::attachment: return "attachment";
    case RouteKind::reply: return "reply";
    case RouteKind::new_form: return "new";
    case RouteKind::new_submit: return "new_submit";
    case RouteKind::threads: return "threads";
    case RouteKind::thread: return "thread";
    case RouteKind::thread_sent: return "thread_sent";
    case RouteKind::thread_attachment: return "thread_attachment";
    case RouteKind::thread_reply: return "thread_reply";
    case RouteKind::auth_start: return "auth_start";
    case RouteKind::auth_callback: return "auth_callback";
    case RouteKind::auth_jwks: return "auth_jwks";
    case RouteKind::staff_home: return "staff_home";
    case RouteKind::staff_landing: return "staff_landing";
    case RouteKind::staff_claim: return "staff_claim";
    case RouteKind::staff_release: return "staff_release";
    case RouteKind::staff_reassign: return "staff_reassign";
    case RouteKind::staff_read: return "staff_read";
    case RouteKind::staff_attachment: return "staff_attachment";
    case RouteKind::staff_reply: return "staff_reply";
    case RouteKind::accessibility: return "accessibility";
    case RouteKind::stylesheet: return "static";
    case RouteKind::home: return "home";
    case RouteKind::not_found: return "other";
  }
  return "other";
}

}  // namespace

struct PortalListener::Shared {
  Shared(asio::io_context& io_context, server::WorkerPool& pool, std::shared_ptr<const config::Config> cfg,
         store::Store& st, const crypto::KeyRingHolder& key_rings, SmsFactory factory, const Clock& c, const log::Logger& log,
         Options opts)
      : io(io_context),
        workers(pool),
        strand(asio::make_strand(io_context)),
        acceptor(strand),
        tls_timer(strand),
        purge_timer(strand),
        config(std::move(cfg)),
        store(st),
        rings(key_rings),
        sms_factory(std::move(factory)),
        clock(c),
        logger(log),
        options(opts) {}

  asio::io_context& io;
  server::WorkerPool& workers;
  asio::strand<asio::io_context::executor_type> strand;
  tcp::acceptor acceptor;
  asio::steady_timer tls_timer;
  asio::steady_timer purge_timer;
  tcp::endpoint endpoint;
  std::atomic<std::shared_ptr<const config::Config>> config;
  std::atomic<std::shared_ptr<const i18n::Templates>> templates;
  std::atomic<std::shared_ptr<sms::SmsSender>> sms;
  std::atomic<std::shared_ptr<auth::Providers>> oidc;  // null: no providers configured
  std::shared_ptr<auth::HttpClient> oidc_http = auth::make_curl_http_client();
  std::shared_ptr<crypto::ServerTlsContext> tls;
  PhoneTails phone_tails;  // landing pages' phone tails, for the current key ring
  store::Store& store;
  const crypto::KeyRingHolder& rings;
  SmsFactory sms_factory;
  const Clock& clock;
  const log::Logger& logger;
  Options options;

  std::atomic<bool> draining{false};
  std::atomic<std::size_t> active{0};
  std::mutex mutex;
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

  // Templates and the SMS sender for a configuration; a failure keeps what was there.
  std::optional<Error> apply(const config::Config& c) {
    auto t = i18n::Templates::load(c.notifications.templates_dir);
    if (!t) return t.error();
    templates.store(*t);
    if (sms_factory) {
      auto s = sms_factory(c);
      if (!s) return s.error();
      sms.store(*s);
    }
    if (c.oidc_providers.empty()) {
      oidc.store(nullptr);
    } else {
      // Our keys are read again on every reload; discovery and JWKS caches start afresh.
      auto p = auth::Providers::load(c, oidc_http, clock);
      if (!p) return p.error();
      oidc.store(std::shared_ptr<auth::Providers>(std::move(*p)));
    }
    return std::nullopt;
  }
};

namespace {

using Shared = PortalListener::Shared;

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

std::optional<int> error_status(const error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) return 400;
  return std::nullopt;
}

template <typename Fields>
void copy_headers(const Response& from, Fields& to) {
  for (const auto& [name, value] : from.headers) to.insert(name, value);
}

Request to_request(const http::request<http::string_body>& r, const std::string& peer) {
  Request out;
  out.method = std::string(r.method_string());
  out.target = std::string(r.target());
  for (const auto& field : r) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  out.body = r.body();
  out.peer = peer;
  return out;
}

Response run_handler(Shared& s, const Request& request) {
  const auto config = s.config.load();
  const auto templates = s.templates.load();
  const auto sms = s.sms.load();
  const auto oidc = s.oidc.load();
  const auto ring = s.rings.current();  // one ring for the whole request (SIGHUP may replace it)
  s.phone_tails.bind(ring);
  PortalContext context{*config, *templates, s.store, *ring, sms.get(), s.clock, s.logger, oidc.get(), &s.phone_tails};
  try {
    return handle(request, context);
  } catch (const std::exception& e) {
    s.logger.error("internal_error", {{"listener", "portal"}, {"in", "handler"}, {"error", e.what()}});
    return error_response(context, 500);
  }
}

Response run_error(Shared& s, int status) {
  const auto config = s.config.load();
  const auto templates = s.templates.load();
  const auto ring = s.rings.current();
  PortalContext context{*config, *templates, s.store, *ring, nullptr, s.clock, s.logger};
  return error_response(context, status);
}

// The head and the body in one buffer, so one TLS record write carries both. A response the
// handler got wrong (a header that would split it) goes out as a bare 500, and the connection ends.
asio::awaitable<void> write_plain(Connection& c, const log::Logger& logger, const Response& res, unsigned version,
                                  bool keep_alive, bool head_only, error_code& ec) {
  auto head = serialize_head(res, version, keep_alive, res.body.size());
  beast::get_lowest_layer(c.stream).expires_after(c.write_timeout);
  if (!head) {
    logger.error("internal_error", {{"listener", "portal"}, {"in", "response"}, {"error", head.error().message}});
    static constexpr std::string_view refused = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(c.stream, asio::buffer(refused), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) ec = asio::error::connection_aborted;
    co_return;
  }
  std::string out = std::move(*head);
  if (!head_only) out += res.body;
  co_await asio::async_write(c.stream, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
}

// A streamed body: the head, then one chunk per piece as the producer hands them over.
asio::awaitable<void> write_stream(std::shared_ptr<Shared> s, std::shared_ptr<Connection> c, const Response& res,
                                   unsigned version, bool keep_alive, bool head_only, error_code& ec) {
  http::response<http::empty_body> head{static_cast<http::status>(res.status), version};
  copy_headers(res, head);
  head.keep_alive(keep_alive);
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  beast::get_lowest_layer(c->stream).expires_after(c->write_timeout);
  co_await http::async_write_header(c->stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || head_only) co_return;
  auto pipe = std::make_shared<BodyPipe>(c->stream.get_executor(), s->options.stream_pieces);
  c->pipe = pipe;
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(c->write_timeout * 2);
  const bool posted = s->workers.post([s, pipe, body = res.stream, wait] {
    Result<std::monostate> produced = std::monostate{};
    try {
      produced = body->produce([&](std::string_view piece) { return pipe->push(piece, wait); });
    } catch (const std::exception& e) {
      produced = make_error(e.what());
    }
    if (!produced) s->logger.warning("portal_stream_failed", {{"error", produced.error().message}});
    pipe->finish(produced.ok());
  });
  if (!posted) pipe->finish(false);
  for (;;) {
    auto item = co_await pipe->next();
    beast::get_lowest_layer(c->stream).expires_after(c->write_timeout);
    if (!item.piece) {
      if (!item.ok) {
        ec = asio::error::connection_aborted;  // cut short: the client sees no last chunk
        break;
      }
      co_await asio::async_write(c->stream, http::make_chunk_last(), asio::redirect_error(asio::use_awaitable, ec));
      break;
    }
    co_await asio::async_write(c->stream, http::make_chunk(asio::buffer(*item.piece)),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  pipe->cancel();
  c->pipe.reset();
}

asio::awaitable<void> session(std::shared_ptr<Shared> s, std::shared_ptr<Connection> c, std::uint64_t id) {
  Registration registration(s, id);
  error_code ec;
  std::string peer;
  {
    const auto remote = beast::get_lowest_layer(c->stream).socket().remote_endpoint(ec);
    if (!ec) peer = server::format_endpoint(remote);
  }
  beast::get_lowest_layer(c->stream).expires_after(c->handshake_timeout);
  co_await c->stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    s->logger.debug("portal_tls_failed", {{"peer", peer}, {"error", ec.message()}});
    beast::get_lowest_layer(c->stream).close();
    co_return;
  }
  const auto config = s->config.load();
  const std::size_t header_limit = config->portal.max_header_size;
  const std::uint64_t body_limit = config->portal.max_body_size;
  // The parser stops at the header limit; the buffer holds what one read brings beyond it.
  beast::flat_buffer buffer(header_limit + 64 * 1024);
  bool clean_close = true;
  while (!s->draining.load()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(header_limit, UINT32_MAX)));
    parser.body_limit(body_limit);
    c->reading = true;
    // The head within the request timeout (the wait for it included); then the body, each read
    // within it again, so an upload may take as long as it keeps arriving.
    beast::get_lowest_layer(c->stream).expires_after(c->request_timeout);
    co_await http::async_read_header(c->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    c->reading = false;  // a drain now lets this request finish, its upload included
    while (!ec && !parser.is_done()) {
      beast::get_lowest_layer(c->stream).expires_after(c->request_timeout);
      co_await http::async_read_some(c->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      if (const auto status = error_status(ec)) {
        Response res = co_await s->workers.run_blocking([&] { return run_error(*s, *status); });
        error_code wec;
        co_await write_plain(*c, s->logger, res, 11, false, false, wec);
        s->logger.info("portal_request", {{"peer", peer}, {"status", *status}, {"route", "refused"}});
      } else if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
        clean_close = ec != beast::error::timeout;
      }
      break;
    }
    const auto& req = parser.get();
    const bool head_only = req.method() == http::verb::head;
    Request handled = to_request(req, peer);
    if (head_only) handled.method = "GET";  // answered as GET, sent without the body
    const Route r = route(handled.method, handled.path());
    Response res;
    if (!needs_store(r)) {
      res = run_handler(*s, handled);  // rendering only: nothing here blocks
    } else {
      try {
        res = co_await s->workers.run_blocking([&] { return run_handler(*s, handled); });
      } catch (const boost::system::system_error&) {
        break;  // the worker pool is stopping
      }
    }
    const bool keep_alive = req.keep_alive() && !s->draining.load() && res.status != 500;
    s->logger.info("portal_request",
                   {{"peer", peer}, {"method", std::string_view(req.method_string().data(), req.method_string().size())}, {"route", route_label(r.kind)}, {"status", res.status}});
    if (res.stream) {
      co_await write_stream(s, c, res, req.version(), keep_alive, head_only, ec);
    } else {
      co_await write_plain(*c, s->logger, res, req.version(), keep_alive, head_only, ec);
    }
    if (ec || !keep_alive) break;
  }
  if (clean_close && !ec) {
    beast::get_lowest_layer(c->stream).expires_after(std::chrono::seconds(2));
    co_await c->stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }
  beast::get_lowest_layer(c->stream).close();
}

void log_exception(const log::Logger& logger, std::string_view where, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logger.error("internal_error", {{"listener", "portal"}, {"in", where}, {"error", ex.what()}});
  } catch (...) {
    logger.error("internal_error", {{"listener", "portal"}, {"in", where}});
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<Shared> s) {
  asio::steady_timer backoff(s->strand);
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await s->acceptor.async_accept(asio::make_strand(s->io), asio::redirect_error(asio::use_awaitable, ec));
    if (s->draining.load() || !s->acceptor.is_open()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      s->logger.warning("accept_failed", {{"listener", "portal"}, {"error", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (s->active.load() >= s->options.max_connections) {
      socket.close(ec);
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(socket), s->tls->current(), s->config.load()->portal);
    std::uint64_t id = 0;
    {
      std::lock_guard lock(s->mutex);
      id = s->next_id++;
      s->connections.emplace(id, connection);
    }
    s->active.fetch_add(1);
    auto executor = connection->stream.get_executor();
    asio::co_spawn(executor, session(s, std::move(connection), id),
                   [&logger = s->logger](std::exception_ptr e) { log_exception(logger, "session", e); });
  }
}

asio::awaitable<void> watch_tls(std::shared_ptr<Shared> s) {
  for (;;) {
    error_code ec;
    s->tls_timer.expires_after(s->options.tls_check_interval);
    co_await s->tls_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || s->draining.load()) co_return;
    auto changed = co_await s->workers.run_blocking([&s] { return s->tls->reload_if_changed(); });
    if (!changed) s->logger.error("tls_reload_failed", {{"listener", "portal"}, {"error", changed.error().message}});
    else if (*changed) s->logger.info("tls_reloaded", {{"listener", "portal"}});
  }
}

// Sessions past their absolute or idle expiry are deleted now and then (the store keeps them until
// someone asks).
asio::awaitable<void> purge_sessions(std::shared_ptr<Shared> s) {
  for (;;) {
    error_code ec;
    s->purge_timer.expires_after(s->options.session_purge_interval);
    co_await s->purge_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || s->draining.load()) co_return;
    const auto idle = s->config.load()->portal.session_idle;
    auto purged = co_await s->workers.run_blocking([&s, &idle] {
      const auto now = store::to_timestamp(s->clock.now());
      return s->store.purge_sessions(now, now - idle);
    });
    if (!purged) s->logger.error("portal_session_purge_failed", {{"error", purged.error().message}});
    else if (*purged > 0) s->logger.info("portal_sessions_purged", {{"count", *purged}});
  }
}

}  // namespace

PortalListener::PortalListener(asio::io_context& io, server::WorkerPool& workers, std::shared_ptr<const config::Config> config,
                               store::Store& store, const crypto::KeyRingHolder& rings, SmsFactory sms, const Clock& clock,
                               const log::Logger& logger, Options options)
    : shared_(std::make_shared<Shared>(io, workers, std::move(config), store, rings, std::move(sms), clock, logger, options)) {}

PortalListener::~PortalListener() { drain(); }

std::optional<Error> PortalListener::start() {
  auto& s = *shared_;
  const auto config = s.config.load();
  const auto& address = config->portal.address;
  const auto where = "portal: cannot listen on " + address.str() + ": ";
  if (auto failed = s.apply(*config)) return make_error("portal: " + failed->message);
  auto tls = crypto::ServerTlsContext::load(config->portal.tls.cert_file, config->portal.tls.key_file);
  if (!tls) return make_error("portal: " + tls.error().message);
  s.tls = *tls;
  const auto host = server::bind_address(address);
  if (!host) return make_error(where + host.error().message);
  const tcp::endpoint endpoint(*host, address.port);
  error_code ec;
  if (s.acceptor.open(endpoint.protocol(), ec); ec) return make_error(where + ec.message());
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (s.acceptor.bind(endpoint, ec); ec) return make_error(where + ec.message());
  if (s.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return make_error(where + ec.message());
  s.endpoint = s.acceptor.local_endpoint(ec);
  if (ec) return make_error(where + ec.message());
  s.logger.info("listening", {{"listener", "portal"}, {"address", server::format_endpoint(s.endpoint)},
                              {"sms", s.sms.load() ? std::string(s.sms.load()->name()) : std::string("none")}});
  asio::co_spawn(s.strand, accept_loop(shared_),
                 [&logger = s.logger](std::exception_ptr e) { log_exception(logger, "accept", e); });
  asio::co_spawn(s.strand, watch_tls(shared_),
                 [&logger = s.logger](std::exception_ptr e) { log_exception(logger, "tls_watch", e); });
  asio::co_spawn(s.strand, purge_sessions(shared_),
                 [&logger = s.logger](std::exception_ptr e) { log_exception(logger, "session_purge", e); });
  return std::nullopt;
}

void PortalListener::reconfigure(const std::shared_ptr<const config::Config>& config) {
  auto& s = *shared_;
  if (auto failed = s.apply(*config)) {
    s.logger.error("portal_reconfigure_failed", {{"error", failed->message}});
  }
  s.config.store(config);
  if (s.tls) {
    auto reloaded = s.tls->reload(config->portal.tls.cert_file, config->portal.tls.key_file);
    if (!reloaded) s.logger.error("tls_reload_failed", {{"listener", "portal"}, {"error", reloaded.error().message}});
  }
}

void PortalListener::drain() {
  if (shared_->draining.exchange(true)) return;
  asio::post(shared_->strand, [s = shared_] {
    error_code ec;
    s->acceptor.close(ec);
    s->tls_timer.cancel();
    s->purge_timer.cancel();
  });
  for (auto& c : shared_->live_connections()) {
    asio::post(c->stream.get_executor(), [c] {
      if (c->reading) beast::get_lowest_layer(c->stream).cancel();
    });
  }
}

std::size_t PortalListener::active() const { return shared_->active.load(); }

void PortalListener::cancel() {
  for (auto& c : shared_->live_connections()) {
    asio::post(c->stream.get_executor(), [c] {
      if (c->pipe) c->pipe->cancel();
      beast::get_lowest_layer(c->stream).close();
    });
  }
}

asio::ip::tcp::endpoint PortalListener::local_endpoint() const { return shared_->endpoint; }

}  // namespace sinetti::portal
