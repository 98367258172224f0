#include "gateway/server/smtp_listener.hpp"

#include <atomic>

#include "crypto/password.hpp"
#include "crypto/tls_context.hpp"
#include "gateway/server/admin_listener.hpp"
#include "gateway/server/instance_files.hpp"
#include "gateway/server/smtp_auth.hpp"
#include "gateway/server/smtp_policy.hpp"

namespace sinetti::server {

using boost::system::error_code;

namespace {

// Logs and counts what the listener reports. Identifiers and outcomes only (CONVENTIONS habit 9).
class Observer final : public smtp::ListenerObserver {
 public:
  Observer(const log::Logger& logger, SmtpMetrics::Counters& counters) : logger_(logger), counters_(counters) {}

  void connection_refused(const asio::ip::tcp::endpoint& peer, smtp::Refusal why) override {
    (why == smtp::Refusal::network ? counters_.refused_network : counters_.refused_max_connections).fetch_add(1);
    logger_.info("smtp_connection_refused",
                 {{"listener", listener_}, {"peer", format_endpoint(peer)}, {"reason", smtp::to_string(why)}});
  }
  void session_started(const smtp::SessionInfo& s) override {
    counters_.sessions.fetch_add(1);
    counters_.active.fetch_add(1);
    logger_.info("smtp_session_started", {{"listener", s.listener},
                                          {"session", s.id},
                                          {"peer", format_endpoint(s.peer)},
                                          {"trusted_network", s.trusted_network}});
  }
  void tls_started(const smtp::SessionInfo& s) override {
    counters_.tls_ok.fetch_add(1);
    logger_.info("smtp_tls_started",
                 {{"listener", s.listener}, {"session", s.id}, {"protocol", s.tls_protocol}, {"cipher", s.tls_cipher}});
  }
  void tls_failed(const smtp::SessionInfo& s, std::string_view reason) override {
    counters_.tls_failed.fetch_add(1);
    logger_.info("smtp_tls_failed", {{"listener", s.listener}, {"session", s.id}, {"error", reason}});
  }
  void auth_result(const smtp::SessionInfo& s, std::string_view user, bool ok) override {
    (ok ? counters_.auth_ok : counters_.auth_failed).fetch_add(1);
    // The user name only on success: a failed attempt may carry a password typed into the wrong field.
    if (ok) {
      logger_.info("smtp_auth", {{"listener", s.listener}, {"session", s.id}, {"result", "ok"}, {"user", user}});
    } else {
      logger_.info("smtp_auth", {{"listener", s.listener}, {"session", s.id}, {"result", "failed"}});
    }
  }
  void message(const smtp::SessionInfo& s, const smtp::MessageOutcome& m) override {
    const char* result = "accepted";
    if (m.refused_while_arriving) {
      counters_.rejected_protocol.fetch_add(1);
      result = "refused";
    } else if (m.code >= 200 && m.code < 300) {
      counters_.messages_accepted.fetch_add(1);
    } else if (m.code >= 400 && m.code < 500) {
      counters_.rejected_temporary.fetch_add(1);
      result = "deferred";
    } else {
      counters_.rejected_permanent.fetch_add(1);
      result = "rejected";
    }
    logger_.info("smtp_message", {{"listener", s.listener},
                                  {"session", s.id},
                                  {"result", result},
                                  {"code", m.code},
                                  {"enhanced", m.enhanced},
                                  {"bytes", m.bytes},
                                  {"recipients", m.recipients}});
  }
  void session_ended(const smtp::SessionInfo& s, const smtp::SessionSummary& summary) override {
    counters_.active.fetch_sub(1);
    logger_.info("smtp_session_ended", {{"listener", s.listener},
                                        {"session", s.id},
                                        {"end", smtp::to_string(summary.end)},
                                        {"accepted", summary.messages_accepted},
                                        {"rejected", summary.messages_rejected},
                                        {"duration_ms", static_cast<long long>(summary.duration.count())}});
  }
  void internal_error(std::string_view where, std::string_view what) override {
    logger_.error("internal_error", {{"listener", listener_}, {"in", where}, {"error", what}});
  }

  void set_listener(std::string name) { listener_ = std::move(name); }

 private:
  const log::Logger& logger_;
  SmtpMetrics::Counters& counters_;
  std::string listener_;
};

}  // namespace

struct SmtpListener::State {
  State(asio::io_context& io_context, WorkerPool& worker_pool, std::shared_ptr<const config::Config> c, std::string n,
        std::shared_ptr<smtp::MessageSinkFactory> s, std::shared_ptr<SmtpMetrics> m, const log::Logger& l, Options o)
      : io(io_context),
        workers(worker_pool),
        config(std::move(c)),
        name(std::move(n)),
        sinks(std::move(s)),
        metrics(std::move(m)),
        logger(l),
        options(o),
        observer(l, metrics->of(name)),
        strand(asio::make_strand(io_context)),
        tls_timer(strand) {
    observer.set_listener(name);
  }

  asio::io_context& io;
  WorkerPool& workers;
  std::shared_ptr<const config::Config> config;  // the snapshot started with (address, role)
  std::string name;
  std::shared_ptr<smtp::MessageSinkFactory> sinks;
  std::shared_ptr<SmtpMetrics> metrics;
  const log::Logger& logger;
  Options options;
  Observer observer;
  SystemClock clock;
  asio::strand<asio::io_context::executor_type> strand;  // TLS file checks
  asio::steady_timer tls_timer;
  std::atomic<std::shared_ptr<crypto::ServerTlsContext>> tls;  // one holder across reloads
  std::atomic<bool> stopped{false};
  std::unique_ptr<smtp::Listener> listener;

  // Everything a new session needs from `c`. Reads the certificate pair and the users file: blocking.
  Result<std::shared_ptr<const smtp::ListenerSetup>> build(const config::Config& c) {
    const config::Listener* l = c.find_listener(name);
    if (l == nullptr) return make_error("not in the configuration");
    auto setup = std::make_shared<smtp::ListenerSetup>();
    auto& s = setup->settings;
    s.name = l->name;
    s.role = l->role;
    const std::string host = url_host(c.instance.public_url);
    s.hostname = host.empty() ? "localhost" : host;
    s.limits.max_message_size = l->max_message_size;
    s.limits.max_recipients = l->max_recipients;
    s.limits.max_errors = l->max_errors;
    s.require_tls = l->require_tls;
    s.allowed_networks = l->allowed_networks;
    s.max_connections = l->max_connections;
    s.command_timeout = options.command_timeout.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(l->command_timeout));
    s.session_timeout = options.session_timeout.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(l->session_timeout));
    if (l->tls) {
      auto holder = tls.load();
      if (holder) {
        auto reloaded = holder->reload(l->tls->cert_file, l->tls->key_file);
        if (!reloaded) return reloaded.error();
        if (*reloaded) logger.info("tls_reloaded", {{"listener", name}, {"cert_file", l->tls->cert_file.string()}});
      } else {
        auto loaded = crypto::ServerTlsContext::load(l->tls->cert_file, l->tls->key_file);
        if (!loaded) return loaded.error();
        holder = *loaded;
        tls.store(holder);
      }
      setup->tls = holder;
    }
    if (l->auth) {
      auto users = crypto::PasswordFile::load(l->auth->users_file);
      if (!users) return users.error();
      setup->authenticator =
          std::make_shared<UsersFileAuthenticator>(workers, std::make_shared<const crypto::PasswordFile>(std::move(*users)));
    }
    setup->policy = make_recipient_policy(c, *l);
    setup->sinks = sinks;
    return std::shared_ptr<const smtp::ListenerSetup>(std::move(setup));
  }
};

namespace {

// Checks the certificate files now and then; a changed pair is swapped in for new sessions.
asio::awaitable<void> watch_tls(std::shared_ptr<SmtpListener::State> state) {
  for (;;) {
    error_code ec;
    state->tls_timer.expires_after(state->options.tls_check_interval);
    co_await state->tls_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || state->stopped.load()) co_return;
    auto holder = state->tls.load();
    if (!holder) continue;
    std::optional<Result<bool>> outcome;
    try {
      co_await state->workers.run_blocking([&] { outcome.emplace(holder->reload_if_changed()); });
    } catch (const boost::system::system_error&) {
      co_return;  // the worker pool is stopping
    }
    if (!*outcome) {
      state->logger.error("tls_reload_failed", {{"listener", state->name}, {"error", outcome->error().message}});
    } else if (**outcome) {
      state->logger.info("tls_reloaded", {{"listener", state->name}});
    }
  }
}

}  // namespace

SmtpListener::SmtpListener(asio::io_context& io, WorkerPool& workers, std::shared_ptr<const config::Config> config,
                           std::string listener, std::shared_ptr<smtp::MessageSinkFactory> sinks,
                           std::shared_ptr<SmtpMetrics> metrics, const log::Logger& logger, Options options)
    : state_(std::make_shared<State>(io, workers, std::move(config), std::move(listener), std::move(sinks), std::move(metrics),
                                     logger, options)) {}

SmtpListener::~SmtpListener() { drain(); }

std::string_view SmtpListener::name() const { return state_->name; }

std::optional<Error> SmtpListener::start() {
  auto& s = *state_;
  const config::Listener* l = s.config->find_listener(s.name);
  if (l == nullptr) return make_error(s.name + ": no such listener in the configuration");
  // Start-up, before the I/O threads run: reading the files here blocks no one.
  auto setup = s.build(*s.config);
  if (!setup) return make_error(s.name + ": " + setup.error().message);
  const auto where = s.name + ": cannot listen on " + l->address.str() + ": ";
  const auto host = bind_address(l->address);
  if (!host) return make_error(where + host.error().message);
  s.listener = std::make_unique<smtp::Listener>(s.io, *setup, s.observer, s.clock);
  if (auto failed = s.listener->listen(asio::ip::tcp::endpoint(*host, l->address.port))) {
    return make_error(where + failed->message);
  }
  s.logger.info("listening", {{"listener", s.name},
                              {"role", config::to_string(l->role)},
                              {"address", format_endpoint(s.listener->local_endpoint())},
                              {"starttls", (*setup)->tls != nullptr},
                              {"auth", (*setup)->authenticator != nullptr}});
  asio::co_spawn(s.strand, watch_tls(state_), [state = state_](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      state->logger.error("internal_error", {{"listener", state->name}, {"in", "tls_watch"}, {"error", ex.what()}});
    }
  });
  return std::nullopt;
}

void SmtpListener::reconfigure(const std::shared_ptr<const config::Config>& config) {
  auto& s = *state_;
  if (!s.listener) return;
  const config::Listener* now = config->find_listener(s.name);
  const config::Listener* was = s.config->find_listener(s.name);
  if (now == nullptr) {
    s.logger.warning("restart_needed", {{"listener", s.name},
                                        {"message", "the listener was removed; it keeps running until restart"}});
    return;
  }
  if (was != nullptr && (was->address.str() != now->address.str() || was->role != now->role)) {
    s.logger.warning("restart_needed", {{"listener", s.name},
                                        {"setting", "listeners[].address/role"},
                                        {"message", "listen addresses and roles change only on restart"}});
    return;
  }
  // Reading the files is blocking work; sessions already running keep their setup.
  const bool queued = s.workers.post([state = state_, config] {
    auto setup = state->build(*config);
    if (!setup) {
      state->logger.error("listener_reload_failed", {{"listener", state->name},
                                                     {"error", setup.error().message},
                                                     {"message", "keeping the listener's running settings"}});
      return;
    }
    state->listener->update(*setup);
  });
  if (!queued) s.logger.warning("listener_reload_skipped", {{"listener", s.name}, {"message", "stopping"}});
}

void SmtpListener::drain() {
  auto& s = *state_;
  if (s.stopped.exchange(true)) {
    if (s.listener) s.listener->drain();
    return;
  }
  asio::post(s.strand, [state = state_] { state->tls_timer.cancel(); });
  if (s.listener) s.listener->drain();
}

std::size_t SmtpListener::active() const { return state_->listener ? state_->listener->active() : 0; }

void SmtpListener::cancel() {
  drain();
  if (state_->listener) state_->listener->cancel();
}

asio::ip::tcp::endpoint SmtpListener::local_endpoint() const {
  return state_->listener ? state_->listener->local_endpoint() : asio::ip::tcp::endpoint();
}

}  // namespace sinetti::server
