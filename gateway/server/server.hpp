// Server: the `serve` runtime. One io_context run by N threads (a strand per connection, DESIGN
// "Async model"), a bounded WorkerPool for blocking work, the current configuration snapshot, the
// services (listeners) plugged into it, and the process signals: SIGHUP reloads the configuration
// (swapped in only if it validates), SIGTERM/SIGINT stop gracefully within a grace period.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/log.hpp"
#include "gateway/server/admin_handler.hpp"
#include "gateway/server/admin_listener.hpp"
#include "gateway/server/asio.hpp"
#include "gateway/server/service.hpp"
#include "gateway/server/worker_pool.hpp"
#include "sinetti/result.hpp"

namespace sinetti::server {

// The version the admin endpoint reports (the CMake project version).
const char* version();

// What a reload attempt (SIGHUP or request_reload) ended with.
struct ReloadOutcome {
  bool ok = false;                                // the new configuration is in force
  std::size_t errors = 0;                         // problems found in it (when not ok)
  std::shared_ptr<const config::Config> config;   // the snapshot in force now (the old one when not ok)
};

struct ServerOptions {
  std::size_t io_threads = 0;      // 0: std::thread::hardware_concurrency(), at least 2
  // Blocking work (WorkerPool): threads that may be busy at once, most of them waiting (SQLite
  // commits, fsync, HTTP calls); at least 1.
  std::size_t worker_threads = 16;
  // Of those, how many run at once (0: one per core, at least 2). Each hand-over to a sleeping
  // thread is a futex wake and a context switch: on a 2-core VM a portal landing page took 164 µs of
  // CPU with 8 unrestricted threads and 94 µs with 2 (bench/portal/run's CPU/req), but 2 threads
  // slowed unlocks, whose commits held both. A limit on the running threads keeps the first figure
  // without the second cost: waits marked with sinetti::Waiting free their slot.
  std::size_t worker_concurrency = 0;
  std::chrono::milliseconds grace{std::chrono::seconds(10)};  // drain time on stop before cancelling
  bool handle_signals = true;      // SIGHUP, SIGTERM, SIGINT
  // Loads and validates the configuration on reload; empty: config::load_file with file checks.
  std::function<config::LoadResult(const std::filesystem::path&)> load;
  // Called after every reload attempt, ok or not, on the worker pool (blocking work is fine), before
  // the next reload can begin. serve reloads the key ring here and writes the audit record.
  std::function<void(const ReloadOutcome&)> reloaded;
  AdminListener::Options admin;
};

class Server {
 public:
  // `config` is the validated snapshot loaded from `config_path`; the logger must outlive the Server.
  Server(std::filesystem::path config_path, std::shared_ptr<const config::Config> config, const log::Logger& logger,
         ServerOptions options = {});
  ~Server();  // only once run() has returned, or if it never ran
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Plugs in a service (before start()); the Server owns it.
  void add_service(std::unique_ptr<Service> service);
  // Adds metric families to /metrics (before start()); `source` is called for each request, from any
  // thread, and returns Prometheus text exposition lines.
  void add_metrics(std::function<std::string()> source);

  // Creates the data directory and self-signed TLS files, binds the admin listener and every
  // service, and installs the signal handlers. On failure returns a one-line reason; do not run().
  std::optional<Error> start();

  // Runs the I/O threads; returns once a stop (signal or request_stop) has drained or cancelled
  // everything and the worker pool has finished its queue.
  void run();

  // Thread-safe. A second stop request during the grace period cancels at once.
  void request_stop();
  // Thread-safe; same as SIGHUP. Reloads are serialized; one requested during a reload runs after it.
  void request_reload();

  // The current configuration snapshot; hold the pointer for as long as a consistent view is needed.
  std::shared_ptr<const config::Config> config() const { return config_.load(); }
  const std::filesystem::path& config_path() const { return config_path_; }
  asio::io_context& io_context() { return io_; }
  WorkerPool& workers() { return workers_; }
  const log::Logger& logger() const { return logger_; }

  AdminState admin_state() const;
  // The admin listener's bound address, if admin is configured (after start()).
  std::optional<asio::ip::tcp::endpoint> admin_endpoint() const;

 private:
  void begin_stop(const char* reason);     // control strand
  void trigger_reload();                    // control strand
  void cancel_services();
  std::size_t active() const;
  asio::awaitable<void> watch_signals();
  asio::awaitable<void> reload_loop();
  asio::awaitable<void> reload_once();
  asio::awaitable<void> report_reload(const ReloadOutcome& outcome);
  asio::awaitable<void> shutdown(std::string reason);
  asio::awaitable<bool> wait_until_idle(std::chrono::steady_clock::time_point deadline);
  void run_io_thread();
  template <typename Awaitable>
  void spawn(Awaitable&& a, const char* what);

  const std::filesystem::path config_path_;
  const log::Logger& logger_;
  ServerOptions options_;
  std::atomic<std::shared_ptr<const config::Config>> config_;

  // Destroyed in reverse: the services (and their sockets) go before the io_context they use.
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> control_;  // reload, stop, signals
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::optional<asio::signal_set> signals_;
  WorkerPool workers_;
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<std::function<std::string()>> metrics_;
  AdminListener* admin_ = nullptr;  // in services_

  bool started_ok_ = false;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> reloads_ok_{0};
  std::atomic<std::uint64_t> reloads_error_{0};
  bool reloading_ = false;      // control strand
  bool reload_again_ = false;   // control strand
};

}  // namespace sinetti::server
