#include "gateway/housekeeping/housekeeping.hpp"

#include <atomic>
#include <exception>

namespace sinetti::housekeeping {

struct Housekeeping::State : std::enable_shared_from_this<Housekeeping::State> {
  State(asio::io_context& io, server::WorkerPool& w, store::Store& s, std::shared_ptr<const config::Config> c,
        const Clock& cl, const log::Logger& l, HousekeepingOptions o)
      : strand(asio::make_strand(io)), timer(strand), workers(w), store(s), config(std::move(c)), clock(cl), logger(l),
        options(o) {}

  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  server::WorkerPool& workers;
  store::Store& store;
  std::atomic<std::shared_ptr<const config::Config>> config;
  const Clock& clock;
  const log::Logger& logger;
  HousekeepingOptions options;
  std::atomic<bool> draining{false};
  std::atomic<bool> busy{false};
  std::atomic<std::uint64_t> runs{0};
  bool run_requested = false;  // strand

  std::chrono::milliseconds interval() const {
    if (options.interval) return *options.interval;
    return std::chrono::duration_cast<std::chrono::milliseconds>(config.load()->retention.interval);
  }

  // Once at start, then `interval` after the end of the previous run; a reload recomputes the
  // deadline from the new interval, run_now() runs at once. Waits on the real steady clock.
  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    using steady = std::chrono::steady_clock;
    auto last = steady::now();
    bool due = true;
    while (!draining) {
      if (due || run_requested) {
        due = false;
        run_requested = false;
        co_await run_once();
        last = steady::now();
        continue;
      }
      const auto deadline = last + interval();
      if (steady::now() >= deadline) {
        due = true;
        continue;
      }
      timer.expires_at(deadline);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<void> run_once() {
    busy = true;
    struct Done {
      State& s;
      ~Done() {
        s.busy = false;
        ++s.runs;
      }
    } done{*this};
    const auto c = config.load();
    const auto started = clock.steady_now();
    auto r = co_await workers.run_blocking(
        [&] { return run_retention(*c, store, clock.now(), "system", RecordRun::when_removed); });
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - started).count();
    if (!r) {
      logger.error("retention_failed", {{"error", r.error().message}});
      co_return;
    }
    logger.info("retention", {{"expired", r->expired},
                              {"queue_entries", r->queue_entries},
                              {"sessions", r->sessions},
                              {"audit_records", r->audit_records},
                              {"threads", r->conversations.threads},
                              {"claims", r->conversations.claims},
                              {"staff_members", r->conversations.staff_members},
                              {"ms", static_cast<long long>(took)}});
  }
};

Housekeeping::Housekeeping(asio::io_context& io, server::WorkerPool& workers, store::Store& store,
                           std::shared_ptr<const config::Config> config, const Clock& clock, const log::Logger& logger,
                           HousekeepingOptions options)
    : state_(std::make_shared<State>(io, workers, store, std::move(config), clock, logger, options)) {}

Housekeeping::~Housekeeping() = default;

std::optional<Error> Housekeeping::start() {
  asio::co_spawn(state_->strand, state_->loop(), [state = state_](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const boost::system::system_error& err) {
      // The worker pool refuses work once the server stops: not a fault.
      if (err.code() != asio::error::operation_aborted) state->logger.error("housekeeping_stopped", {{"error", err.what()}});
    } catch (const std::exception& err) {
      state->logger.error("housekeeping_stopped", {{"error", err.what()}});
    }
  });
  return std::nullopt;
}

void Housekeeping::reconfigure(const std::shared_ptr<const config::Config>& config) {
  state_->config.store(config);
  // The current wait is cut short and the deadline recomputed with the new interval.
  asio::post(state_->strand, [s = state_] { s->timer.cancel(); });
}

void Housekeeping::drain() {
  state_->draining = true;
  asio::post(state_->strand, [s = state_] { s->timer.cancel(); });
}

std::size_t Housekeeping::active() const { return state_->busy.load() ? 1 : 0; }

void Housekeeping::run_now() {
  asio::post(state_->strand, [s = state_] {
    s->run_requested = true;
    s->timer.cancel();
  });
}

std::uint64_t Housekeeping::runs() const { return state_->runs.load(); }

}  // namespace sinetti::housekeeping
