// PortalListener: the HTTPS portal (DESIGN "Portal paths") as a Service of the Server, on the same
// io_context as the SMTP listeners. TLS 1.2+ with forward-secret AEAD suites only
// (crypto/tls_context.hpp), the certificate reloaded when its files change; HTTP/1.1 with
// keep-alive (Boost.Beast); requests capped by portal.max_header_size (431) and
// portal.max_body_size (413); a deadline on the handshake, on reading each request and on every
// write; the request handled by handle() (handler.hpp) on the worker pool; downloads streamed in
// chunks through a BodyPipe. Untrusted input: everything that reaches the portal address. Logs
// never hold a target (it carries the read token), a cookie or a body.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "config/config.hpp"
#include "crypto/key_ring_holder.hpp"
#include "gateway/log.hpp"
#include "gateway/server/asio.hpp"
#include "gateway/server/service.hpp"
#include "gateway/server/worker_pool.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"
#include "sms/sender.hpp"

namespace sinetti::portal {

class PortalListener final : public server::Service {
 public:
  struct Options {
    // The handshake, request and write deadlines are portal.*_timeout of the configuration.
    std::size_t max_connections = 2000;                                 // more are closed at once
    std::size_t stream_pieces = 4;                                      // download pieces buffered per connection
    std::chrono::milliseconds tls_check_interval{std::chrono::seconds(60)};
    std::chrono::milliseconds session_purge_interval{std::chrono::minutes(5)};  // expired sessions deleted
  };

  // Builds the SMS sender for a configuration (sms::make_sms_sender in production); called at
  // construction and on every reload. An error leaves the previous sender (or none) in place.
  using SmsFactory = std::function<Result<std::shared_ptr<sms::SmsSender>>(const config::Config&)>;

  // The store, key ring holder (Access::open; each request uses the ring current when it starts), clock, workers and logger must outlive the Server.
  PortalListener(boost::asio::io_context& io, server::WorkerPool& workers, std::shared_ptr<const config::Config> config,
                 store::Store& store, const crypto::KeyRingHolder& rings, SmsFactory sms, const Clock& clock,
                 const log::Logger& logger, Options options);
  ~PortalListener() override;

  std::string_view name() const override { return "portal"; }
  std::optional<Error> start() override;
  void reconfigure(const std::shared_ptr<const config::Config>& config) override;
  void drain() override;
  std::size_t active() const override;
  void cancel() override;

  // The bound address (the kernel's choice when the configured port is 0); after start().
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace sinetti::portal
