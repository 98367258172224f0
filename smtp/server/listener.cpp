#include "smtp/server/listener.hpp"

#include <array>
#include <map>
#include <mutex>

#include "crypto/random.hpp"
#include "smtp/server/allowed_networks.hpp"
#include "smtp/server/connection.hpp"

namespace sinetti::smtp {

using boost::system::error_code;
using tcp = asio::ip::tcp;

const char* to_string(Refusal r) {
  switch (r) {
    case Refusal::network: return "network";
    case Refusal::max_connections: return "max_connections";
  }
  return "unknown";
}

const char* to_string(SessionEnd e) {
  switch (e) {
    case SessionEnd::quit: return "quit";
    case SessionEnd::client_closed: return "client_closed";
    case SessionEnd::timeout: return "timeout";
    case SessionEnd::errors: return "errors";
    case SessionEnd::shutdown: return "shutdown";
    case SessionEnd::tls_failed: return "tls_failed";
    case SessionEnd::write_failed: return "write_failed";
    case SessionEnd::cancelled: return "cancelled";
  }
  return "unknown";
}

struct Listener::Shared {
  Shared(asio::io_context& io_context, std::shared_ptr<const ListenerSetup> s, ListenerObserver& o, const Clock& c)
      : io(io_context), strand(asio::make_strand(io_context)), acceptor(strand), setup(std::move(s)), observer(o), clock(c) {}

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;  // the acceptor's
  tcp::acceptor acceptor;
  tcp::endpoint endpoint;
  std::atomic<std::shared_ptr<const ListenerSetup>> setup;
  ListenerObserver& observer;
  const Clock& clock;

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

using Shared = Listener::Shared;

// Keeps a connection registered, and counted, for as long as its session runs.
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

// 72 random bits, base64url: unique enough to find one session's lines in a busy log.
std::string new_session_id() {
  std::array<std::uint8_t, 9> bytes{};
  crypto::random_bytes(bytes);
  return crypto::base64url_encode(bytes);
}

// Answers a connection we do not serve with one reply and closes it. The socket's send buffer is
// empty, so a non-blocking write either goes out at once or is dropped; it never waits.
void refuse(tcp::socket& socket, const std::string& reply) {
  error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) asio::write(socket, asio::buffer(reply), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

asio::awaitable<void> session(std::shared_ptr<Shared> shared, std::shared_ptr<Connection> connection, std::uint64_t id) {
  Registration registration(shared, id);
  co_await connection->run();
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
      // Out of descriptors or memory: wait a moment and try again rather than spin.
      shared->observer.internal_error("accept", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const auto peer = socket.remote_endpoint(ec);
    if (ec) continue;  // already gone
    const auto local = socket.local_endpoint(ec);
    if (ec) continue;
    const auto setup = shared->setup.load();
    const auto& settings = setup->settings;
    const auto& networks = settings.allowed_networks;
    const bool listed = !networks.empty() && any_network_contains(networks, peer.address());
    // Outside the allowed networks: refused, unless AUTH is offered (those clients must then use it).
    if (!networks.empty() && !listed && !setup->authenticator) {
      refuse(socket, Reply{554, "5.7.1", {settings.hostname + " Access denied"}}.wire());
      shared->observer.connection_refused(peer, Refusal::network);
      continue;
    }
    if (shared->active.load() >= settings.max_connections) {
      refuse(socket, Reply{421, "4.7.0", {settings.hostname + " Error: too many connections, try again later"}}.wire());
      shared->observer.connection_refused(peer, Refusal::max_connections);
      continue;
    }
    SessionInfo info;
    info.id = new_session_id();
    info.listener = settings.name;
    info.role = settings.role;
    info.hostname = settings.hostname;
    info.peer = peer;
    info.local = local;
    info.trusted_network = listed;
    info.started = shared->clock.now();
    auto connection = std::make_shared<Connection>(std::move(socket), setup, std::move(info), shared->observer, shared->clock);
    std::uint64_t id = 0;
    {
      std::lock_guard lock(shared->mutex);
      id = shared->next_id++;
      shared->connections.emplace(id, connection);
    }
    shared->active.fetch_add(1);
    // The socket was accepted onto a new strand; the session runs there.
    auto executor = connection->executor();
    asio::co_spawn(executor, session(shared, connection, id),
                   [shared](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       shared->observer.internal_error("session", ex.what());
                     } catch (...) {
                       shared->observer.internal_error("session", "unknown exception");
                     }
                   });
  }
}

}  // namespace

Listener::Listener(asio::io_context& io, std::shared_ptr<const ListenerSetup> setup, ListenerObserver& observer,
                   const Clock& clock)
    : shared_(std::make_shared<Shared>(io, std::move(setup), observer, clock)) {}

Listener::~Listener() { drain(); }

std::optional<Error> Listener::listen(const tcp::endpoint& endpoint) {
  auto& s = *shared_;
  error_code ec;
  if (s.acceptor.open(endpoint.protocol(), ec); ec) return make_error(ec.message());
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (endpoint.address().is_v6()) s.acceptor.set_option(asio::ip::v6_only(false), ec);
  if (s.acceptor.bind(endpoint, ec); ec) return make_error(ec.message());
  if (s.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return make_error(ec.message());
  s.endpoint = s.acceptor.local_endpoint(ec);
  if (ec) return make_error(ec.message());
  asio::co_spawn(s.strand, accept_loop(shared_), [shared = shared_](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      shared->observer.internal_error("accept", ex.what());
    } catch (...) {
      shared->observer.internal_error("accept", "unknown exception");
    }
  });
  return std::nullopt;
}

tcp::endpoint Listener::local_endpoint() const { return shared_->endpoint; }

void Listener::update(std::shared_ptr<const ListenerSetup> setup) { shared_->setup.store(std::move(setup)); }

std::shared_ptr<const ListenerSetup> Listener::setup() const { return shared_->setup.load(); }

void Listener::drain() {
  if (shared_->draining.exchange(true)) return;
  asio::post(shared_->strand, [s = shared_] {
    error_code ec;
    s->acceptor.close(ec);
  });
  for (auto& c : shared_->live_connections()) c->drain();
}

void Listener::cancel() {
  drain();
  for (auto& c : shared_->live_connections()) c->cancel();
}

std::size_t Listener::active() const { return shared_->active.load(); }

}  // namespace sinetti::smtp
