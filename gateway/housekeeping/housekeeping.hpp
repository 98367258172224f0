// Housekeeping: the Service that runs retention (retention.hpp) in the server — once at start, then
// every retention.interval — on the worker pool, and logs what each run removed. A reload changes
// the interval from the next wait on. No input from outside.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "config/config.hpp"
#include "gateway/housekeeping/retention.hpp"
#include "gateway/log.hpp"
#include "gateway/server/asio.hpp"
#include "gateway/server/service.hpp"
#include "gateway/server/worker_pool.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"

namespace sinetti::housekeeping {

namespace asio = server::asio;

struct HousekeepingOptions {
  std::optional<std::chrono::milliseconds> interval;  // instead of retention.interval (tests)
};

class Housekeeping final : public server::Service {
 public:
  // Everything referenced must outlive the service.
  Housekeeping(asio::io_context& io, server::WorkerPool& workers, store::Store& store,
               std::shared_ptr<const config::Config> config, const Clock& clock, const log::Logger& logger,
               HousekeepingOptions options = {});
  ~Housekeeping() override;

  std::string_view name() const override { return "housekeeping"; }
  std::optional<Error> start() override;
  void reconfigure(const std::shared_ptr<const config::Config>& config) override;
  void drain() override;
  std::size_t active() const override;
  void cancel() override { drain(); }

  // Runs retention now rather than at the end of the current wait. Thread-safe.
  void run_now();
  // Runs finished so far, successful or not. Thread-safe.
  std::uint64_t runs() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sinetti::housekeeping
