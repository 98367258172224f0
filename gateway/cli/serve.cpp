// `sinetti serve`: load the configuration, open the key ring and the store, plug the ingest, the
// SMTP listeners, the delivery queue, housekeeping and the portal into the Server, and run until
// SIGTERM/SIGINT; SIGHUP reloads the configuration and the key ring (each reload is an audit record).
#include <nlohmann/json.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "gateway/cli/commands.hpp"
#include "crypto/key_ring_holder.hpp"
#include "gateway/cli/runtime.hpp"
#include "gateway/housekeeping/housekeeping.hpp"
#include "gateway/ingest/ingest.hpp"
#include "gateway/log.hpp"
#include "gateway/portal/portal_listener.hpp"
#include "gateway/queue/delivery_queue.hpp"
#include "gateway/routing/table.hpp"
#include "gateway/server/instance_files.hpp"
#include "gateway/server/server.hpp"
#include "gateway/server/smtp_listener.hpp"
#include "gateway/server/smtp_metrics.hpp"
#include "sms/make_sender.hpp"

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

// Wrapping keys for new messages: one ephemeral X25519 key for up to a second or 1,000 wraps
// instead of one per wrap (crypto/key_ring.hpp, EphemeralReuse). Serve holds the KEKs' private
// halves anyway (the queue and the portal open messages), so the kept wrap key exposes nothing more.
crypto::EphemeralReuse ephemeral_reuse(const Clock& clock) {
  return crypto::EphemeralReuse{1000, std::chrono::seconds(1), &clock};
}

// After every reload attempt (on the worker pool): the key ring is loaded again from the keys.dir
// in force — after `sinetti keys rotate` new messages are wrapped to the new KEK — and the reload is
// recorded in the audit log. A ring that does not load leaves the running one in place.
void after_reload(const server::ReloadOutcome& outcome, const std::filesystem::path& config_path,
                  crypto::KeyRingHolder& rings, store::Store& store, const Clock& clock, const log::Logger& logger) {
  store::AuditEvents audit;
  nlohmann::json details = {{"config", config_path.string()}};
  if (!outcome.ok) details["errors"] = outcome.errors;
  audit.push_back({"config.reloaded", "", "admin", outcome.ok ? "ok" : "error", details.dump()});

  const crypto::KekId before = rings.current()->active_kek();
  auto ring = open_key_ring(*outcome.config, crypto::Access::open, clock, false, nullptr);
  if (!ring) {
    logger.error("key_ring_reload_failed", {{"error", ring.error().message},
                                            {"message", "keeping the key ring loaded before"},
                                            {"kek", before}});
    audit.push_back({"keys.reloaded", "", "admin", "error", nlohmann::json{{"error", ring.error().message}}.dump()});
  } else {
    const crypto::KekId now = ring->active_kek();
    ring->reuse_ephemeral(ephemeral_reuse(clock));
    rings.replace(std::move(*ring));
    logger.info("key_ring_reloaded", {{"kek", now}, {"previous", before}, {"changed", now != before}});
    if (now != before) {
      audit.push_back({"keys.reloaded", "", "admin", "ok", nlohmann::json{{"kek", now}, {"previous", before}}.dump()});
    }
  }
  if (auto s = store.append_audit(audit); !s) logger.error("audit_failed", {{"event", "config.reloaded"}, {"error", s.error().message}});
}

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
  // The ingest seals with the public halves; the queue and the portal open with the private ones,
  // so serve loads the whole ring.
  auto ring = open_key_ring(config, crypto::Access::open, clock, config.keys.create_if_missing, &logger);
  if (!ring) {
    std::cerr << "sinetti: " << ring.error().message << "\n";
    return exit_problem;
  }
  ring->reuse_ephemeral(ephemeral_reuse(clock));
  crypto::KeyRingHolder rings(std::move(*ring));
  server::ServerOptions options;
  auto store = open_store(config, clock, options.worker_threads);
  if (!store) {
    std::cerr << "sinetti: " << store.error().message << "\n";
    return exit_problem;
  }
  auto snapshot = ingest::make_snapshot(loaded.config);
  if (!snapshot) {
    std::cerr << "sinetti: " << snapshot.error().message << "\n";
    return exit_problem;
  }

  options.load = load_checked;
  options.reloaded = [&](const server::ReloadOutcome& outcome) {
    after_reload(outcome, config_path, rings, **store, clock, logger);
  };
  server::Server server(config_path, loaded.config, logger, options);

  // What the ingest has just queued goes to the queue's first attempt in memory as well.
  auto fresh = std::make_shared<ingest::FreshContent>();
  queue::QueueOptions queue_options;
  queue_options.fresh = fresh;
  auto queue = std::make_shared<queue::DeliveryQueue>(server.io_context(), server.workers(), **store, rings,
                                                      loaded.config, clock, logger, queue_options);
  ingest::IngestOptions ingest_options;
  ingest_options.fresh = fresh;
  auto sinks = std::make_shared<ingest::Ingest>(*snapshot, **store, rings, server.workers(), clock, logger,
                                                [q = std::weak_ptr<queue::DeliveryQueue>(queue)] {
                                                  if (auto p = q.lock()) p->wake();
                                                },
                                                ingest_options);
  std::vector<std::string> names;
  for (const auto& l : config.listeners) names.push_back(l.name);
  auto metrics = std::make_shared<server::SmtpMetrics>(names);
  for (const auto& name : names) {
    server.add_service(std::make_unique<server::SmtpListener>(server.io_context(), server.workers(), loaded.config, name,
                                                              sinks, metrics, logger, server::SmtpListener::Options{}));
  }
  server.add_service(std::make_unique<SharedService>(sinks));
  server.add_service(std::make_unique<SharedService>(queue));
  server.add_service(std::make_unique<housekeeping::Housekeeping>(server.io_context(), server.workers(), **store,
                                                                  loaded.config, clock, logger));
  // The portal's SMS sender follows sms.* on every reload.
  auto sms_sender = [&clock](const config::Config& c) -> Result<std::shared_ptr<sms::SmsSender>> {
    auto s = sms::make_sms_sender(c.sms, clock);
    if (!s) return s.error();
    return std::shared_ptr<sms::SmsSender>(std::move(*s));
  };
  server.add_service(std::make_unique<portal::PortalListener>(server.io_context(), server.workers(), loaded.config,
                                                              **store, rings, sms_sender, clock, logger,
                                                              portal::PortalListener::Options{}));
  server.add_metrics([metrics] { return metrics->render(); });
  if (auto failed = server.start()) {
    std::cerr << "sinetti: " << failed->message << "\n";
    return exit_problem;
  }
  server.run();
  return exit_ok;
}

}  // namespace sinetti::cli
