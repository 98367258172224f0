// Service: one long-running part of the server — the admin listener now; the SMTP listeners, the
// portal, the delivery queue and housekeeping later. The Server starts each, hands it every new
// configuration snapshot, and stops it in two steps: drain (stop accepting; let current work end),
// then, once the grace period is over, cancel what is left.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "config/config.hpp"
#include "sinetti/result.hpp"

namespace sinetti::server {

class Service {
 public:
  virtual ~Service() = default;

  // A short name for logs ("admin", "inbound", "portal").
  virtual std::string_view name() const = 0;

  // Binds sockets and starts accepting; called once, before the I/O threads run. An error (a
  // one-line reason, e.g. the address is in use) keeps the server from starting.
  virtual std::optional<Error> start() = 0;

  // A configuration reload has succeeded; `config` is the new snapshot. Called on the server's
  // control strand; implementations that keep per-connection state post to their own strands.
  virtual void reconfigure(const std::shared_ptr<const config::Config>& config) { (void)config; }

  // Stop accepting new work and ask current work to finish soon (idle connections close now).
  // Thread-safe; called once.
  virtual void drain() = 0;

  // How many connections or jobs are still running. Thread-safe.
  virtual std::size_t active() const = 0;

  // Abort everything still running (the grace period is over). Thread-safe; may be called again.
  virtual void cancel() = 0;
};

}  // namespace sinetti::server
