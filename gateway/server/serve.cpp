#include "gateway/server/serve.hpp"

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "gateway/log.hpp"
#include "gateway/routing/table.hpp"
#include "gateway/server/server.hpp"
#include "gateway/server/smtp_listener.hpp"
#include "gateway/server/smtp_metrics.hpp"
#include "gateway/server/unavailable_sink.hpp"

namespace sinetti::server {
namespace {

// Start-up and every reload check the same things as `sinetti check-config`: the whole schema, the
// referenced files, and that the routing rules compile.
config::LoadResult load_checked(const std::filesystem::path& path) {
  auto compiled = routing::load_and_compile(path, config::LoadOptions{true});
  return config::LoadResult{std::move(compiled.config), std::move(compiled.errors)};
}

}  // namespace

int run_serve(const std::filesystem::path& config_path) {
  // A closed stderr must not kill the gateway; sockets use MSG_NOSIGNAL already.
  std::signal(SIGPIPE, SIG_IGN);

  const auto loaded = load_checked(config_path);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e.str() << "\n";
    std::cerr << "sinetti: " << config_path.string() << ": " << loaded.errors.size()
              << (loaded.errors.size() == 1 ? " error" : " errors") << " in the configuration; not starting\n";
    return 1;
  }

  log::Logger logger;
  ServerOptions options;
  options.load = load_checked;
  Server server(config_path, loaded.config, logger, options);
  // Every configured SMTP listener. Until the store-backed ingest exists, messages go to a sink that
  // answers 451 (temporary), so a sending server keeps and retries them.
  std::vector<std::string> names;
  for (const auto& l : loaded.config->listeners) names.push_back(l.name);
  auto metrics = std::make_shared<SmtpMetrics>(names);
  auto sinks = std::make_shared<UnavailableSinks>();
  for (const auto& name : names) {
    server.add_service(std::make_unique<SmtpListener>(server.io_context(), server.workers(), loaded.config, name, sinks,
                                                      metrics, logger, SmtpListener::Options{}));
  }
  server.add_metrics([metrics] { return metrics->render(); });
  if (auto failed = server.start()) {
    std::cerr << "sinetti: " << failed->message << "\n";
    return 1;
  }
  server.run();
  return 0;
}

}  // namespace sinetti::server
