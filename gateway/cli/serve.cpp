// `sinetti serve`: load the configuration, open the key ring and the store, plug the ingest, the
// SMTP listeners and the delivery queue into the Server, and run until SIGTERM/SIGINT; SIGHUP
// reloads the configuration.
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "gateway/cli/commands.hpp"
#include "gateway/cli/runtime.hpp"
#include "gateway/ingest/ingest.hpp"
#include "gateway/log.hpp"
#include "gateway/queue/delivery_queue.hpp"
#include "gateway/routing/table.hpp"
#include "gateway/server/instance_files.hpp"
#include "gateway/server/server.hpp"
#include "gateway/server/smtp_listener.hpp"
#include "gateway/server/smtp_metrics.hpp"

namespace sinetti::cli {
namespace {

// Start-up and every reload check the same things as `sinetti check-config`: the whole schema, the
// referenced files, and that the routing rules compile.
config::LoadResult load_checked(const std::filesystem::path& path) {
  auto compiled = routing::load_and_compile(path, config::LoadOptions{true});
  return config::LoadResult{std::move(compiled.config), std::move(compiled.errors)};
}

// A Service the Server owns that forwards to one shared with others (the ingest is also the
// listeners' sink factory).
class SharedService final : public server::Service {
 public:
  explicit SharedService(std::shared_ptr<server::Service> s) : s_(std::move(s)) {}
  std::string_view name() const override { return s_->name(); }
  std::optional<Error> start() override { return s_->start(); }
  void reconfigure(const std::shared_ptr<const config::Config>& c) override { s_->reconfigure(c); }
  void drain() override { s_->drain(); }
  std::size_t active() const override { return s_->active(); }
  void cancel() override { s_->cancel(); }

 private:
  std::shared_ptr<server::Service> s_;
};

}  // namespace

int serve(const std::filesystem::path& config_path) {
  // A closed stderr must not kill the gateway; sockets use MSG_NOSIGNAL already.
  std::signal(SIGPIPE, SIG_IGN);

  const auto loaded = load_checked(config_path);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e.str() << "\n";
    std::cerr << "sinetti: " << config_path.string() << ": " << loaded.errors.size()
              << (loaded.errors.size() == 1 ? " error" : " errors") << " in the configuration; not starting\n";
    return exit_problem;
  }
  const auto& config = *loaded.config;
  log::Logger logger;
  SystemClock clock;
  if (auto failed = server::prepare_instance_files(config, logger)) {
    std::cerr << "sinetti: " << failed->message << "\n";
    return exit_problem;
  }
  // The ingest seals with the public halves; the queue (and later the portal) open with the private
  // ones, so serve loads the whole ring.
  auto ring = open_key_ring(config, crypto::Access::open, clock, config.keys.create_if_missing, &logger);
  if (!ring) {
    std::cerr << "sinetti: " << ring.error().message << "\n";
    return exit_problem;
  }
  auto store = open_store(config, clock);
  if (!store) {
    std::cerr << "sinetti: " << store.error().message << "\n";
    return exit_problem;
  }
  auto snapshot = ingest::make_snapshot(loaded.config);
  if (!snapshot) {
    std::cerr << "sinetti: " << snapshot.error().message << "\n";
    return exit_problem;
  }

  server::ServerOptions options;
  options.load = load_checked;
  server::Server server(config_path, loaded.config, logger, options);

  auto queue = std::make_shared<queue::DeliveryQueue>(server.io_context(), server.workers(), **store, *ring,
                                                      loaded.config, clock, logger);
  auto sinks = std::make_shared<ingest::Ingest>(*snapshot, **store, *ring, server.workers(), clock, logger,
                                                [q = std::weak_ptr<queue::DeliveryQueue>(queue)] {
                                                  if (auto p = q.lock()) p->wake();
                                                });
  std::vector<std::string> names;
  for (const auto& l : config.listeners) names.push_back(l.name);
  auto metrics = std::make_shared<server::SmtpMetrics>(names);
  for (const auto& name : names) {
    server.add_service(std::make_unique<server::SmtpListener>(server.io_context(), server.workers(), loaded.config, name,
                                                              sinks, metrics, logger, server::SmtpListener::Options{}));
  }
  server.add_service(std::make_unique<SharedService>(sinks));
  server.add_service(std::make_unique<SharedService>(queue));
  server.add_metrics([metrics] { return metrics->render(); });
  if (auto failed = server.start()) {
    std::cerr << "sinetti: " << failed->message << "\n";
    return exit_problem;
  }
  server.run();
  return exit_ok;
}

}  // namespace sinetti::cli
