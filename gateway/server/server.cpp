#include "gateway/server/server.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

#include "gateway/server/instance_files.hpp"

#ifndef SINETTI_VERSION
#define SINETTI_VERSION "unknown"
#endif

namespace sinetti::server {

using boost::system::error_code;
namespace fs = std::filesystem;

namespace {

std::size_t io_thread_count(std::size_t requested) {
  if (requested != 0) return requested;
  return std::max<std::size_t>(std::thread::hardware_concurrency(), 2);
}

// The malloc in force, found at run time: gperftools' tcmalloc exports tc_version() (the build links
// it into the binary, see SINETTI_ALLOCATOR); otherwise it is the C library's.
std::string allocator_name() {
  using TcVersion = const char* (*)(int*, int*, const char**);
  if (void* symbol = ::dlsym(RTLD_DEFAULT, "tc_version")) {
    TcVersion tc_version = nullptr;
    static_assert(sizeof symbol == sizeof tc_version);
    std::memcpy(&tc_version, &symbol, sizeof tc_version);  // POSIX: a function's address from dlsym
    const char* name = tc_version(nullptr, nullptr, nullptr);
    return name != nullptr ? std::string(name) : std::string("tcmalloc");
  }
  return "system";
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGHUP: return "SIGHUP";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "signal";
  }
}

}  // namespace

const char* version() { return SINETTI_VERSION; }

Server::Server(fs::path config_path, std::shared_ptr<const config::Config> config, const log::Logger& logger,
               ServerOptions options)
    : config_path_(std::move(config_path)),
      logger_(logger),
      options_(std::move(options)),
      config_(std::move(config)),
      io_(static_cast<int>(io_thread_count(options_.io_threads))),
      control_(asio::make_strand(io_)),
      workers_(options_.worker_threads, options_.worker_concurrency) {
  if (!config_.load()) throw std::invalid_argument("Server: no configuration");
  if (!options_.load) {
    options_.load = [](const fs::path& path) { return config::load_file(path, config::LoadOptions{true}); };
  }
}

Server::~Server() {
  // run() has returned (or never ran): no I/O thread touches the services any more.
  workers_.stop();
  signals_.reset();
  services_.clear();
}

void Server::add_service(std::unique_ptr<Service> service) { services_.push_back(std::move(service)); }

void Server::add_metrics(std::function<std::string()> source) { metrics_.push_back(std::move(source)); }

template <typename Awaitable>
void Server::spawn(Awaitable&& a, const char* what) {
  asio::co_spawn(control_, std::forward<Awaitable>(a), [this, what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      logger_.error("internal_error", {{"in", what}, {"error", ex.what()}});
    } catch (...) {
      logger_.error("internal_error", {{"in", what}});
    }
  });
}

std::optional<Error> Server::start() {
  if (started_ok_) throw std::logic_error("Server::start called twice");
  const auto config = config_.load();
  if (auto failed = prepare_instance_files(*config, logger_)) return failed;

  if (config->admin) {
    auto admin = std::make_unique<AdminListener>(io_, config->admin->address, [this] { return admin_state(); }, logger_,
                                                 options_.admin);
    admin_ = admin.get();
    services_.insert(services_.begin(), std::move(admin));
  }
  for (auto& service : services_) {
    if (auto failed = service->start()) return failed;
  }

  work_.emplace(io_.get_executor());
  if (options_.handle_signals) {
    signals_.emplace(control_, SIGHUP, SIGTERM, SIGINT);
    spawn(watch_signals(), "signals");
  }
  started_ok_ = true;
  return std::nullopt;
}

void Server::run() {
  if (!started_ok_) throw std::logic_error("Server::run without a successful start");
  const std::size_t n = io_thread_count(options_.io_threads);
  std::vector<std::thread> threads;
  threads.reserve(n);
  running_ = true;  // before the first request can be served
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back([this] { run_io_thread(); });
  logger_.info("started", {{"version", version()},
                           {"config", config_path_.string()},
                           {"io_threads", n},
                           {"allocator", allocator_name()},
                           {"worker_threads", workers_.size()},
                           {"worker_concurrency", workers_.concurrency()},
                           {"pid", static_cast<long long>(::getpid())}});
  for (auto& t : threads) t.join();
  running_ = false;
  workers_.stop();  // runs what blocking work is queued; its completions stay unrun
  logger_.info("stopped");
}

void Server::run_io_thread() {
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      logger_.error("internal_error", {{"in", "io_context"}, {"error", e.what()}});
    } catch (...) {
      logger_.error("internal_error", {{"in", "io_context"}});
    }
  }
}

void Server::request_stop() {
  asio::post(control_, [this] { begin_stop("request"); });
}

void Server::request_reload() {
  asio::post(control_, [this] { trigger_reload(); });
}

AdminState Server::admin_state() const {
  AdminState s;
  s.started = running_.load();
  s.stopping = stopping_.load();
  s.config_reloads_ok = reloads_ok_.load();
  s.config_reloads_error = reloads_error_.load();
  s.version = version();
  for (const auto& source : metrics_) s.service_metrics += source();
  return s;
}

std::optional<asio::ip::tcp::endpoint> Server::admin_endpoint() const {
  if (admin_ == nullptr) return std::nullopt;
  return admin_->local_endpoint();
}

std::size_t Server::active() const {
  std::size_t n = 0;
  for (const auto& s : services_) n += s->active();
  return n;
}

void Server::cancel_services() {
  for (auto& s : services_) s->cancel();
}

// ---- signals -----------------------------------------------------------------------------------------

asio::awaitable<void> Server::watch_signals() {
  for (;;) {
    error_code ec;
    const int signal = co_await signals_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // cancelled: the server is going away
    logger_.info("signal", {{"signal", signal_name(signal)}});
    if (signal == SIGHUP) {
      trigger_reload();
    } else {
      begin_stop(signal_name(signal));
    }
  }
}

// ---- reload --------------------------------------------------------------------------------------------

void Server::trigger_reload() {
  if (stopping_.load()) return;
  if (reloading_) {
    reload_again_ = true;
    return;
  }
  reloading_ = true;
  spawn(reload_loop(), "reload");
}

asio::awaitable<void> Server::reload_loop() {
  do {
    reload_again_ = false;
    co_await reload_once();
  } while (reload_again_ && !stopping_.load());
  reloading_ = false;
}

asio::awaitable<void> Server::reload_once() {
  const auto old = config_.load();
  // Reading and validating the file, and creating files it asks for, is blocking work.
  struct Outcome {
    config::LoadResult loaded;
    std::optional<Error> prepare_failed;
  };
  Outcome outcome = co_await workers_.run_blocking([this] {
    Outcome o;
    o.loaded = options_.load(config_path_);
    if (o.loaded.config) o.prepare_failed = prepare_instance_files(*o.loaded.config, logger_);
    return o;
  });
  const auto& loaded = outcome.loaded;
  if (!loaded.config || outcome.prepare_failed) {
    // Diagnostics are positions and schema messages, never secret values.
    for (const auto& e : loaded.errors) logger_.error("config_error", {{"error", e.str()}});
    if (outcome.prepare_failed) logger_.error("config_error", {{"error", outcome.prepare_failed->message}});
    logger_.error("config_reload_failed", {{"message", "config reload failed; keeping the running configuration"},
                                           {"config", config_path_.string()},
                                           {"errors", loaded.errors.size() + (outcome.prepare_failed ? 1 : 0)}});
    reloads_error_.fetch_add(1);  // after the log lines, so whoever sees the count finds them
    // Named, not a temporary argument: see report_reload.
    ReloadOutcome failed{false, loaded.errors.size() + (outcome.prepare_failed ? 1 : 0), old};
    co_await report_reload(failed);
    co_return;
  }
  if (old->admin.has_value() != loaded.config->admin.has_value() ||
      (old->admin && old->admin->address.str() != loaded.config->admin->address.str())) {
    logger_.warning("restart_needed", {{"setting", "admin.address"},
                                       {"message", "listen addresses change only on restart"}});
  }
  config_.store(loaded.config);
  for (auto& s : services_) s->reconfigure(loaded.config);
  logger_.info("config_reloaded", {{"message", "config reloaded"}, {"config", config_path_.string()}});
  reloads_ok_.fetch_add(1);
  ReloadOutcome done{true, 0, loaded.config};
  co_await report_reload(done);
}

// Takes a reference to a named object: GCC 12 destroys a class-type temporary passed by value to a
// coroutine inside co_await twice (its shared_ptr would be released once too often).
asio::awaitable<void> Server::report_reload(const ReloadOutcome& outcome) {
  if (!options_.reloaded) co_return;
  // A failing hook must not end the reload loop (later reloads would never run).
  try {
    co_await workers_.run_blocking([this, &outcome] { options_.reloaded(outcome); });
  } catch (const std::exception& e) {
    logger_.error("internal_error", {{"in", "reloaded"}, {"error", e.what()}});
  }
}

// ---- stop ----------------------------------------------------------------------------------------------

void Server::begin_stop(const char* reason) {
  if (stopping_.exchange(true)) {
    logger_.warning("stop_forced", {{"reason", reason}, {"active", active()}});
    cancel_services();
    return;
  }
  spawn(shutdown(reason), "shutdown");
}

asio::awaitable<bool> Server::wait_until_idle(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(control_);
  while (active() > 0) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) co_return false;
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(20), deadline - now));
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return true;
}

asio::awaitable<void> Server::shutdown(std::string reason) {
  using std::chrono::steady_clock;
  // Every service drains before "stopping" is logged: whatever arrives after the line is handled as
  // during a stop (a portal answer says Connection: close).
  const std::size_t active_at_stop = active();
  for (auto& s : services_) s->drain();
  logger_.info("stopping", {{"reason", reason},
                            {"grace_ms", static_cast<long long>(options_.grace.count())},
                            {"active", active_at_stop}});

  if (!co_await wait_until_idle(steady_clock::now() + options_.grace)) {
    logger_.warning("grace_period_over", {{"active", active()}});
    cancel_services();
    // Cancelled operations complete promptly; don't wait for ever on one that does not.
    co_await wait_until_idle(steady_clock::now() + std::chrono::seconds(1));
  }
  error_code ec;
  if (signals_) signals_->cancel(ec);
  work_.reset();
  io_.stop();
}

}  // namespace sinetti::server
