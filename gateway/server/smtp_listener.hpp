// SmtpListener: one configured SMTP listener (listeners[]) as a Service of the Server. Binds at
// start(), runs smtp::Listener with the policy for its role (smtp_policy.hpp), its TLS certificate
// (reloaded when the files change and on SIGHUP), AUTH from its users file (checked on the worker
// pool), and the message sink it is given. Logs one JSON line per session event, with the session's
// id and never content or passwords, and counts them in SmtpMetrics.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "gateway/log.hpp"
#include "gateway/server/asio.hpp"
#include "gateway/server/service.hpp"
#include "gateway/server/smtp_metrics.hpp"
#include "gateway/server/worker_pool.hpp"
#include "smtp/server/listener.hpp"
#include "smtp/server/message_sink.hpp"

namespace sinetti::server {

class SmtpListener final : public Service {
 public:
  struct Options {
    // Overrides of the configured deadlines, for tests (the configuration allows 10 s at least).
    std::optional<std::chrono::milliseconds> command_timeout;
    std::optional<std::chrono::milliseconds> session_timeout;
    // How often the certificate files are checked for a change.
    std::chrono::milliseconds tls_check_interval{std::chrono::seconds(60)};
  };

  // `listener` names an entry of config->listeners. The logger and workers must outlive the Server.
  SmtpListener(asio::io_context& io, WorkerPool& workers, std::shared_ptr<const config::Config> config,
               std::string listener, std::shared_ptr<smtp::MessageSinkFactory> sinks, std::shared_ptr<SmtpMetrics> metrics,
               const log::Logger& logger, Options options);
  ~SmtpListener() override;

  std::string_view name() const override;
  std::optional<Error> start() override;
  void reconfigure(const std::shared_ptr<const config::Config>& config) override;
  void drain() override;
  std::size_t active() const override;
  void cancel() override;

  // The bound address (the kernel's choice when the configured port is 0); after start().
  asio::ip::tcp::endpoint local_endpoint() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sinetti::server
