#include "gateway/queue/delivery_queue.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <vector>

#include "crypto/primitives.hpp"
#include "crypto/random.hpp"
#include "gateway/ingest/ids.hpp"
#include "gateway/ingest/store_await.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "smtp/client/maildir.hpp"
#include "smtp/client/smtp_transport.hpp"
#include "smtp/dsn.hpp"

namespace sinetti::queue {

using smtp::client::Outcome;
using store::DeliveryKind;
using store::QueueEntry;

std::chrono::milliseconds backoff(const config::Delivery& delivery, std::uint32_t attempts) {
  const auto initial = std::chrono::duration_cast<std::chrono::milliseconds>(delivery.retry_initial);
  const auto max = std::chrono::duration_cast<std::chrono::milliseconds>(delivery.retry_max);
  auto d = initial;
  for (std::uint32_t i = 1; i < attempts && d < max; ++i) d *= 2;
  return std::min(d, max);
}

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string h(buf);
  for (char& c : h) {
    if (c <= ' ' || c >= 0x7f || c == '/') c = '_';
  }
  return h;
}

std::unique_ptr<smtp::client::Transport> configured_transport(const config::Config& c, const Clock& clock,
                                                              server::WorkerPool& workers, const log::Logger& logger) {
  if (c.delivery.maildir) {
    return std::make_unique<smtp::client::MaildirTransport>(
        *c.delivery.maildir, clock, [&workers](std::function<void()> work) -> asio::awaitable<void> {
          co_await workers.run_blocking([&work] { work(); });  // see SealedBody::next
        });
  }
  if (c.delivery.relay) {
    auto relay = smtp::client::relay_from_config(*c.delivery.relay);
    if (!relay) {
      logger.error("queue_transport_failed", {{"error", relay.error().message}});
      return nullptr;
    }
    relay->reuse.connections = c.delivery.workers;  // one per delivery in flight at most
    auto t = smtp::client::SmtpTransport::create(std::move(*relay));
    if (!t) {
      logger.error("queue_transport_failed", {{"error", t.error().message}});
      return nullptr;
    }
    return std::move(*t);
  }
  return nullptr;
}

// The sealed content as the transport's body source: one chunk decrypted at a time on the worker pool.
class SealedBody final : public smtp::client::BodySource {
 public:
  SealedBody(server::WorkerPool& workers, std::shared_ptr<sealed::ContentReader> reader)
      : workers_(workers), reader_(std::move(reader)) {}
  asio::awaitable<Result<std::optional<std::string_view>>> next() override {
    // GCC 12 may destroy a temporary with a non-trivial destructor twice when it appears in a
    // co_await expression (a lambda holding a shared_ptr did: a use-after-free under load). Every
    // callable handed to run_blocking therefore captures by reference only.
    std::shared_ptr<sealed::ContentReader> reader = reader_;
    if (reader->next_in_memory()) {
      // No store read: only the decryption of a chunk already in memory, not worth a thread hop.
      auto local = reader->next();
      if (!local) co_return local.error();
      if (local->empty()) co_return std::optional<std::string_view>();
      co_return std::optional<std::string_view>(*local);
    }
    auto piece = co_await workers_.run_blocking([&reader] { return reader->next(); });
    if (!piece) co_return piece.error();
    if (piece->empty()) co_return std::optional<std::string_view>();
    co_return std::optional<std::string_view>(*piece);
  }

 private:
  server::WorkerPool& workers_;
  std::shared_ptr<sealed::ContentReader> reader_;
};

// A message the ingest kept in memory (FreshContent), handed out whole; wiped afterwards.
class FreshBody final : public smtp::client::BodySource {
 public:
  explicit FreshBody(std::string content) : content_(std::move(content)) {}
  ~FreshBody() override { crypto::secure_wipe(content_); }
  FreshBody(const FreshBody&) = delete;
  FreshBody& operator=(const FreshBody&) = delete;
  asio::awaitable<Result<std::optional<std::string_view>>> next() override {
    if (done_) co_return std::optional<std::string_view>();
    done_ = true;
    co_return std::optional<std::string_view>(std::string_view(content_));
  }

 private:
  std::string content_;
  bool done_ = false;
};

std::string kind_name(DeliveryKind k) { return std::string(store::to_string(k)); }

}  // namespace

struct DeliveryQueue::State : std::enable_shared_from_this<DeliveryQueue::State> {
  State(asio::io_context& io_, server::WorkerPool& w, store::Store& s, const crypto::KeyRingHolder& r,
        std::shared_ptr<const config::Config> c, const Clock& cl, const log::Logger& l, QueueOptions o)
      : io(io_), strand(asio::make_strand(io_)), timer(strand), workers(w), store(s), rings(r), config(std::move(c)),
        clock(cl), logger(l), options(std::move(o)) {}

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  server::WorkerPool& workers;
  store::Store& store;
  const crypto::KeyRingHolder& rings;
  std::atomic<std::shared_ptr<const config::Config>> config;
  const Clock& clock;
  const log::Logger& logger;
  QueueOptions options;
  std::string owner;
  std::atomic<std::shared_ptr<smtp::client::Transport>> transport;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> woken{false};
  bool running = false;  // strand

  std::unique_ptr<smtp::client::Transport> make(const config::Config& c) {
    if (options.make_transport) return options.make_transport(c);
    return configured_transport(c, clock, workers, logger);
  }

  store::Timestamp now() const { return store::to_timestamp(clock.now()); }

  template <typename Fn>
  auto blocking(Fn fn) {
    return workers.run_blocking(std::move(fn));
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!draining) {
      const auto c = config.load();
      const std::size_t slots = c->delivery.workers > in_flight ? c->delivery.workers - in_flight : 0;
      std::vector<QueueEntry> leased;
      if (slots > 0 && transport.load()) {
        woken = false;
        // Straight to the store's writer: no worker thread waits for the lease.
        auto r = co_await ingest::await_store<std::vector<QueueEntry>>(
            [&](auto d) { store.lease_due_async(owner, now(), slots, options.lease, d); });
        if (!r) {
          logger.error("queue_lease_failed", {{"error", r.error().message}});
        } else {
          leased = std::move(*r);
        }
      }
      for (auto& e : leased) {
        ++in_flight;
        // Each delivery on a strand of its own: deliveries run in parallel; the queue's own strand
        // only leases and counts.
        asio::co_spawn(asio::make_strand(io), deliver(std::move(e)), [self](std::exception_ptr ex) {
          if (ex) {
            try {
              std::rethrow_exception(ex);
            } catch (const std::exception& err) {
              self->logger.error("queue_delivery_crashed", {{"error", err.what()}});
            }
          }
        });
      }
      if (!leased.empty() && leased.size() == slots) continue;  // more may be due
      if (woken && slots > leased.size()) continue;
      timer.expires_after(options.poll);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<void> deliver(QueueEntry entry) {
    auto self = shared_from_this();
    struct Done {
      State& s;
      ~Done() {
        --s.in_flight;
        s.poke();  // a slot is free
      }
    } done{*this};
    const auto c = config.load();
    auto transport_now = transport.load();

    // The message and its content opened in one trip to the worker pool — or, on the first attempt
    // right after the ingest committed it, taken from memory with no trip at all.
    struct Opened {
      Result<std::optional<store::MessageMeta>> meta = std::optional<store::MessageMeta>();
      Result<std::shared_ptr<sealed::ContentReader>> reader = make_error("not opened");
    };
    Opened opened;
    std::optional<ingest::FreshContent::Entry> fresh;
    if (options.fresh) fresh = options.fresh->take(entry.message_id);
    if (fresh) {
      // Only what deliver() and its endings use; send_dsn reads the stored meta when it needs the key.
      store::MessageMeta m;
      m.id = entry.message_id;
      m.kind = fresh->kind;
      m.size = fresh->content.size();
      m.created = store::to_timestamp(fresh->created);
      opened.meta = std::optional<store::MessageMeta>(std::move(m));
    } else {
      opened = co_await blocking([&] {
        Opened o;
        o.meta = store.find_message(entry.message_id);
        if (o.meta && *o.meta && (**o.meta).wrapped_key) o.reader = sealed::ContentReader::open(store, **o.meta, *rings.current());
        return o;
      });
    }
    auto& meta = opened.meta;
    if (!fresh && (!meta || !*meta || !(**meta).wrapped_key)) {
      const std::string why = !meta ? meta.error().message : "the message no longer exists (shredded or revoked)";
      co_await end_failed(entry, nullptr, why, "5.0.0", 0, false);
      co_return;
    }
    auto& reader = opened.reader;
    if (!fresh && !reader) {
      // Our own storage or key trouble: never the sender's fault, so retry rather than bounce.
      co_await end_deferred(entry, **meta, "4.3.0", 0, "cannot open the stored message: " + reader.error().message, *c);
      co_return;
    }
    smtp::client::Envelope envelope;
    envelope.sender = entry.kind == DeliveryKind::dsn ? std::string() : entry.sender;
    envelope.recipients = {entry.recipient};
    envelope.size = (**meta).size;
    const bool from_memory = fresh.has_value();
    std::unique_ptr<smtp::client::BodySource> body;
    if (fresh) body = std::make_unique<FreshBody>(std::move(fresh->content));
    else body = std::make_unique<SealedBody>(workers, *reader);
    const auto started = clock.now();
    auto result = co_await transport_now->deliver(envelope, *body);
    const smtp::client::RecipientOutcome outcome =
        result.recipients.empty() ? smtp::client::RecipientOutcome{entry.recipient, Outcome::deferred, "4.0.0", 0, "no result"}
                                  : result.recipients.front();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - started).count();
    switch (outcome.outcome) {
      case Outcome::delivered: {
        // The lease ends and a spool, notification or DSN copy whose last delivery this was is
        // shredded in the same commit, straight from the writer (no worker thread waits for it).
        store::AuditEvents audit{{"delivery.done", entry.message_id, "queue", "delivered",
                                  nlohmann::json{{"entry", entry.id}, {"kind", kind_name(entry.kind)},
                                                 {"attempts", entry.attempts}, {"remote", result.remote},
                                                 {"tls", result.tls}}
                                      .dump()}};
        std::optional<store::MessageId> shred;
        if ((**meta).kind != store::MessageKind::protected_message) shred = entry.message_id;
        auto s = co_await ingest::await_store<store::Completed>([&](auto d) {
          store.complete_async(entry.id, owner, std::move(audit), std::move(shred), "queue", d);
        });
        if (!s) {
          logger.error("queue_complete_failed", {{"entry", entry.id}, {"error", s.error().message}});
        } else if (s->shred_error) {
          logger.error("queue_shred_failed", {{"id", entry.message_id}, {"error", s->shred_error->message}});
        }
        logger.info("delivered", {{"entry", entry.id}, {"id", entry.message_id}, {"kind", kind_name(entry.kind)},
                                  {"relay", result.remote}, {"tls", result.tls}, {"ms", took}, {"attempts", entry.attempts},
                                  {"from_memory", from_memory}});
        break;
      }
      case Outcome::deferred: {
        const auto age = clock.now() - std::chrono::system_clock::time_point((**meta).created.time_since_epoch());
        if (age >= std::chrono::duration_cast<std::chrono::system_clock::duration>(c->delivery.lifetime)) {
          co_await end_failed(entry, &**meta, "delivery time expired after " + std::to_string(entry.attempts) +
                                                   " attempts; last: " + outcome.diagnostic,
                              outcome.status.starts_with("4.") ? "5" + outcome.status.substr(1) : "5.4.7",
                              outcome.reply_code, true, result.remote);
        } else {
          co_await end_deferred(entry, **meta, outcome.status, outcome.reply_code, outcome.diagnostic, *c, result.remote);
        }
        break;
      }
      case Outcome::failed:
        co_await end_failed(entry, &**meta, outcome.diagnostic, outcome.status, outcome.reply_code, true, result.remote);
        break;
    }
  }

  asio::awaitable<void> end_deferred(const QueueEntry& entry, const store::MessageMeta&, const std::string& status,
                                     int reply_code, const std::string& diagnostic, const config::Config& c,
                                     const std::string& remote = {}) {
    const auto delay = backoff(c.delivery, entry.attempts);
    auto s = co_await blocking([&] {
      return store.defer(entry.id, owner, now() + delay, diagnostic,
                         {{"delivery.deferred", entry.message_id, "queue", "deferred",
                           nlohmann::json{{"entry", entry.id}, {"status", status}, {"attempts", entry.attempts},
                                          {"retry_in_s", delay.count() / 1000}}
                               .dump()}});
    });
    if (!s) logger.error("queue_defer_failed", {{"entry", entry.id}, {"error", s.error().message}});
    logger.info("deferred", {{"entry", entry.id}, {"id", entry.message_id}, {"status", status}, {"code", reply_code},
                             {"relay", remote}, {"attempts", entry.attempts}, {"retry_in_ms", delay.count()},
                             {"reason", diagnostic}});
  }

  // Permanent failure: a DSN to the sender first (its own commit), then the entry ends failed.
  asio::awaitable<void> end_failed(const QueueEntry& entry, const store::MessageMeta* meta, const std::string& diagnostic,
                                   const std::string& status, int reply_code, bool bounce, const std::string& remote = {}) {
    bool bounced = false;
    if (bounce && meta != nullptr && !entry.sender.empty() && entry.kind != DeliveryKind::dsn) {
      bounced = co_await send_dsn(entry, *meta, diagnostic, status, reply_code, remote);
    }
    auto s = co_await blocking([&] {
      return store.fail(entry.id, owner, diagnostic,
                        {{"delivery.failed", entry.message_id, "queue", "failed",
                          nlohmann::json{{"entry", entry.id}, {"status", status}, {"attempts", entry.attempts},
                                         {"bounced", bounced}}
                              .dump()}});
    });
    if (!s) logger.error("queue_fail_failed", {{"entry", entry.id}, {"error", s.error().message}});
    logger.warning("bounced", {{"entry", entry.id}, {"id", entry.message_id}, {"status", status}, {"code", reply_code},
                               {"relay", remote}, {"dsn", bounced}, {"reason", diagnostic}});
    if (meta != nullptr) co_await shred_if_finished(*meta);
  }

  asio::awaitable<bool> send_dsn(const QueueEntry& entry, const store::MessageMeta& meta, const std::string& diagnostic,
                                 const std::string& status, int reply_code, const std::string& remote) {
    const auto c = config.load();
    auto built = co_await blocking([&]() -> Result<store::CommitBatch> {
      const auto ring_now = rings.current();
      const crypto::KeyRing& ring = *ring_now;
      // A first attempt from memory carries no wrapped key: the stored meta has it.
      std::optional<store::MessageMeta> stored;
      if (!meta.wrapped_key) {
        auto found = store.find_message(meta.id);
        if (!found) return found.error();
        if (!*found || !(**found).wrapped_key) return make_error("the message no longer exists (shredded or revoked)");
        stored = std::move(*found);
      }
      auto reader = sealed::ContentReader::open(store, stored ? *stored : meta, ring);
      if (!reader) return reader.error();
      std::string head(std::min<std::uint64_t>(meta.size, smtp::DsnRequest::max_original_headers), '\0');
      auto n = (*reader)->read_at(0, std::span<char>(head.data(), head.size()));
      if (!n) return n.error();
      head.resize(*n);
      smtp::DsnRecipient r;
      r.recipient = entry.recipient;
      r.action = smtp::DsnAction::failed;
      r.status = status.empty() ? "5.0.0" : status;
      if (const auto bracket = remote.find('['); bracket != std::string::npos && reply_code != 0) r.remote_mta = remote.substr(0, bracket);
      r.diagnostic = diagnostic;
      r.diagnostic_from_server = reply_code != 0;
      r.last_attempt = clock.now();
      smtp::DsnRequest req;
      std::string host = c->public_host();
      if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
      req.reporting_mta = host;
      req.from = "MAILER-DAEMON@" + c->reply_domain();
      req.original_sender = entry.sender;
      req.arrival_date = std::chrono::system_clock::time_point(meta.created.time_since_epoch());
      req.date = clock.now();
      req.recipients = {r};
      req.original_message = head;
      // A notification's Reply-To holds the team's reply token; the sender of the original (who may
      // be anyone on the internet) gets the other fields only.
      if (entry.kind == DeliveryKind::notification) req.omit_fields = {"Reply-To"};
      auto dsn = smtp::build_dsn(req);
      if (!dsn) return dsn.error();
      const std::string id = ingest::new_message_id(clock);
      auto key = crypto::DataKey::generate();
      store::MessageMeta m;
      m.id = id;
      m.kind = store::MessageKind::dsn;
      m.sender = "";
      m.recipients = {entry.sender};
      m.size = dsn->message.size();
      m.wrapped_key = ring.wrap(key, id);
      m.kek_id = ring.active_kek();
      m.expires = store::to_timestamp(clock.now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                        c->delivery.lifetime + std::chrono::hours(24)));
      store::CommitBatch batch;
      batch.messages.push_back({id, m, sealed::seal_pieces(key, id, dsn->message), dsn->message.size()});
      QueueEntry q;
      q.message_id = id;
      q.sender = "";
      q.recipient = entry.sender;
      q.kind = DeliveryKind::dsn;
      batch.queue.push_back(q);
      batch.audit.push_back({"dsn.queued", entry.message_id, "queue", "ok",
                             nlohmann::json{{"dsn", id}, {"entry", entry.id}}.dump()});
      return batch;
    });
    if (!built) {
      logger.error("dsn_failed", {{"entry", entry.id}, {"error", built.error().message}});
      co_return false;
    }
    auto s = co_await blocking([&] { return store.commit(std::move(*built)); });
    if (!s) {
      logger.error("dsn_failed", {{"entry", entry.id}, {"error", s.error().message}});
      co_return false;
    }
    poke();
    co_return true;
  }

  // Spool, notification and DSN copies exist only to be delivered; protected messages stay.
  asio::awaitable<void> shred_if_finished(const store::MessageMeta& meta) {
    if (meta.kind == store::MessageKind::protected_message) co_return;
    auto pending = co_await blocking([&] { return store.pending_deliveries(meta.id); });
    if (!pending || *pending > 0) co_return;
    auto s = co_await blocking([&] { return store.shred(meta.id, store::ShredReason::delivered, "queue"); });
    if (!s) logger.error("queue_shred_failed", {{"id", meta.id}, {"error", s.error().message}});
  }

  void poke() {
    woken = true;
    asio::post(strand, [self = shared_from_this()] { self->timer.cancel(); });
  }
};

DeliveryQueue::DeliveryQueue(asio::io_context& io, server::WorkerPool& workers, store::Store& store,
                             const crypto::KeyRingHolder& rings, std::shared_ptr<const config::Config> config,
                             const Clock& clock, const log::Logger& logger, QueueOptions options)
    : state_(std::make_shared<State>(io, workers, store, rings, std::move(config), clock, logger, std::move(options))) {}

DeliveryQueue::~DeliveryQueue() = default;

std::optional<Error> DeliveryQueue::start() {
  auto& s = *state_;
  if (s.rings.current()->access() != crypto::Access::open) return make_error("the delivery queue needs the key ring's private keys");
  std::array<std::uint8_t, 6> r{};
  crypto::random_bytes(r);
  const std::string host = host_name();
  s.owner = host + "/" + std::to_string(::getpid()) + "/" + crypto::base64url_encode(r);
  auto t = s.make(*s.config.load());
  if (!t) return make_error("no delivery transport (delivery.transport or delivery.relay)");
  s.transport.store(std::shared_ptr<smtp::client::Transport>(std::move(t)));
  auto released = s.store.release_leases(host + "/");
  if (!released) return make_error("queue: " + released.error().message);
  if (*released > 0) s.logger.info("queue_leases_released", {{"entries", *released}});
  asio::co_spawn(s.strand, s.run(), [state = state_](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& err) {
        state->logger.error("queue_stopped", {{"error", err.what()}});
      }
    }
  });
  return std::nullopt;
}

void DeliveryQueue::reconfigure(const std::shared_ptr<const config::Config>& config) {
  state_->config.store(config);
  if (auto t = state_->make(*config)) state_->transport.store(std::shared_ptr<smtp::client::Transport>(std::move(t)));
  wake();
}

void DeliveryQueue::drain() {
  state_->draining = true;
  if (auto t = state_->transport.load()) t->close_idle();  // deliveries in flight end with QUIT
  asio::post(state_->strand, [s = state_] { s->timer.cancel(); });
}

std::size_t DeliveryQueue::active() const { return state_->in_flight.load(); }

void DeliveryQueue::cancel() { drain(); }

void DeliveryQueue::wake() { state_->poke(); }

}  // namespace sinetti::queue
