#include "gateway/ingest/ingest.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "crypto/sealed_stream.hpp"
#include "crypto/tokens.hpp"
#include "gateway/ingest/ids.hpp"
#include "gateway/ingest/notification.hpp"
#include "gateway/ingest/plan.hpp"
#include "gateway/ingest/staff_reply.hpp"
#include "gateway/ingest/store_await.hpp"
#include "gateway/routing/reply_address.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "smtp/dsn.hpp"
#include "smtp/mime/compose.hpp"
#include "smtp/mime/message.hpp"
#include "smtp/trace.hpp"

namespace sinetti::ingest {

using config::ProtectionLevel;
using store::Chunk;
using store::CommitBatch;
using store::MessageCommit;
using store::MessageMeta;

struct Ingest::Shared {
  Shared(store::Store& s, const crypto::KeyRingHolder& r, server::WorkerPool& w, const Clock& c, const log::Logger& l,
         std::function<void()> q, IngestOptions o)
      : store(s), rings(r), workers(w), clock(c), logger(l), queued(std::move(q)), options(o) {}
  store::Store& store;
  const crypto::KeyRingHolder& rings;
  server::WorkerPool& workers;
  const Clock& clock;
  const log::Logger& logger;
  std::function<void()> queued;
  IngestOptions options;
  std::atomic<std::size_t> active{0};
};

Result<std::shared_ptr<const Snapshot>> make_snapshot(std::shared_ptr<const config::Config> config) {
  std::vector<config::Diagnostic> errors;
  auto routing = routing::RoutingTable::compile(config, errors);
  if (!routing) return make_error(errors.empty() ? "routing does not compile" : errors.front().str());
  auto templates = i18n::Templates::load(config->notifications.templates_dir);
  if (!templates) return templates.error();
  auto s = std::make_shared<Snapshot>();
  s->config = std::move(config);
  s->routing = std::move(routing);
  s->templates = std::move(*templates);
  return std::shared_ptr<const Snapshot>(std::move(s));
}

namespace {

smtp::Reply reply_from(int code, const std::string& text) {
  // Rule texts start with their enhanced status code ("5.1.1 No such recipient here").
  smtp::Reply r;
  r.code = code;
  const auto space = text.find(' ');
  const std::string first = text.substr(0, space);
  const bool enhanced = first.size() >= 5 && first[1] == '.' && std::isdigit(static_cast<unsigned char>(first[0])) != 0;
  r.enhanced = enhanced ? first : (code >= 500 ? "5.0.0" : "4.0.0");
  r.lines = {enhanced ? (space == std::string::npos ? std::string() : text.substr(space + 1)) : text};
  return r;
}

smtp::Reply temporary_failure() { return smtp::Reply{451, "4.3.0", {"Temporary storage problem, try again later"}}; }

store::ProtectionLevel to_store(ProtectionLevel l) {
  switch (l) {
    case ProtectionLevel::letter: return store::ProtectionLevel::letter;
    case ProtectionLevel::sms: return store::ProtectionLevel::sms;
    case ProtectionLevel::personal: return store::ProtectionLevel::personal;
  }
  return store::ProtectionLevel::letter;
}

store::Timestamp ts(std::chrono::system_clock::time_point t) { return store::to_timestamp(t); }

std::string host_of(const config::Config& c) {
  std::string h = c.public_host();
  if (h.starts_with('[')) h = h.substr(1, h.size() - 2);
  return h;
}

// One SMTP transaction's sink. Runs on the session's strand; blocking work goes to the worker pool.
class Sink final : public smtp::MessageSink {
 public:
  Sink(std::shared_ptr<Ingest::Shared> shared, std::shared_ptr<const Snapshot> snapshot)
      : shared_(std::move(shared)), snap_(std::move(snapshot)) {}

  ~Sink() override {
    if (begun_ && !committed_) discard();
    forget_fresh();
  }

  asio::awaitable<std::optional<smtp::Reply>> begin(const smtp::SessionInfo& session, const smtp::Envelope& envelope) override {
    session_ = session;
    envelope_ = envelope;
    id_ = new_message_id(shared_->clock);
    key_.emplace(crypto::DataKey::generate());
    writer_.emplace(*key_, id_);
    smtp::TraceInfo trace;
    trace.helo = session.helo;
    trace.peer_ip = session.peer.address().to_string();
    trace.by_host = session.hostname;
    trace.esmtp = session.esmtp;
    trace.tls = session.tls;
    trace.authenticated = session.auth_user.has_value();
    trace.tls_protocol = session.tls_protocol;
    trace.tls_cipher = session.tls_cipher;
    trace.id = id_;
    if (envelope.recipients.size() == 1) trace.for_recipient = envelope.recipients.front();
    trace.when = shared_->clock.now();
    co_await take(smtp::received_field(trace));
    co_return std::nullopt;
  }

  asio::awaitable<void> data(std::string_view piece) override { co_await take(piece); }

  asio::awaitable<smtp::Reply> end() override {
    ++shared_->active;
    struct Done {
      std::atomic<std::size_t>& n;
      ~Done() { --n; }
    } done{shared_->active};
    try {
      co_return co_await finish();
    } catch (const std::exception& e) {
      shared_->logger.error("ingest_failed", {{"id", id_}, {"error", e.what()}});
      co_return temporary_failure();
    }
  }

  void abort() noexcept override {
    if (begun_ && !committed_) discard();
    begun_ = false;
    forget_fresh();
  }

 private:
  // Seals more of the message; keeps the plaintext while the message is small.
  asio::awaitable<void> take(std::string_view bytes) {
    if (failed_) co_return;
    writer_->update(bytes, pending_);
    if (!big_) {
      if (plain_.size() + bytes.size() <= shared_->options.memory_limit) {
        plain_.append(bytes);
      } else {
        big_ = true;
        crypto::secure_wipe(plain_);
        plain_ = std::string();
      }
    }
    if (big_) co_await flush(false);
  }

  std::size_t pending_bytes() const {
    std::size_t n = 0;
    for (const auto& p : pending_) n += p.size();
    return n;
  }

  // Large messages: sealed pieces go to the store as they accumulate (not durable until commit).
  asio::awaitable<void> flush(bool all) {
    if (failed_ || pending_.empty() || (!all && pending_bytes() < shared_->options.flush_bytes)) co_return;
    auto& store = shared_->store;
    if (!begun_) {
      MessageMeta meta;
      meta.id = id_;
      meta.kind = store::MessageKind::spool;
      meta.sender = envelope_.sender;
      // No recipients yet: as received they may carry a phone number (recipient@domain.PHONE.s) that
      // must never be stored in clear; the commit writes the classified, suffix-free ones.
      begun_ = true;
      auto r = co_await await_store<std::monostate>([&](auto d) { store.begin_message_async(std::move(meta), d); });
      if (!r) {
        fail(r.error());
        co_return;
      }
    }
    std::vector<Chunk> pieces;
    pieces.swap(pending_);
    streamed_ += pieces.size();
    auto r = co_await await_store<std::monostate>([&](auto d) { store.append_chunks_async(id_, std::move(pieces), d); });
    if (!r) fail(r.error());
  }

  void fail(const Error& e) {
    if (!failed_) shared_->logger.error("ingest_store_failed", {{"id", id_}, {"error", e.message}});
    failed_ = true;
    pending_.clear();
  }

  void discard() {
    begun_ = false;
    auto logger = &shared_->logger;
    shared_->store.abort_async(id_, [logger, id = id_](store::Status s) {
      if (!s) logger->warning("ingest_abort_failed", {{"id", id}, {"error", s.error().message}});
    });
  }

  asio::awaitable<smtp::Reply> finish() {
    writer_->finish(pending_);
    if (big_) co_await flush(true);
    if (failed_) co_return temporary_failure();
    const std::uint64_t size = writer_->plaintext_size();
    const std::string reply_domain = snap_->config->reply_domain();
    if (std::any_of(envelope_.recipients.begin(), envelope_.recipients.end(),
                    [&](const std::string& r) { return routing::is_reply_address(r, reply_domain); })) {
      co_return co_await finish_staff_reply();
    }

    const config::ListenerRole role = session_.role;
    struct Classified {
      Result<mime::Message> message = make_error("not parsed");
      routing::Routed routed;
    };
    // A small message is parsed and routed right here: that is CPU work of well under a millisecond.
    // A large one is read back from the store, which blocks: the worker pool does it.
    auto classify = [this, role]() {
      Classified c;
      if (big_) {
        auto reader = sealed::ContentReader::open(shared_->store, id_, *key_, writer_->plaintext_size());
        if (!reader) {
          c.message = reader.error();
          return c;
        }
        c.message = mime::read_message_source(*reader);
      } else {
        c.message = mime::read_message(plain_);
      }
      if (c.message) {
        routing::Envelope env{envelope_.sender, envelope_.recipients, session_.listener, role};
        c.routed = snap_->routing->route(env, *c.message);
      }
      return c;
    };
    Classified classified;
    if (big_) {
      classified = co_await shared_->workers.run_blocking(classify);
    } else {
      classified = classify();
    }
    if (!classified.message) {
      // The storage read failing is ours; a message GMime cannot read at all is the sender's.
      const std::string& why = classified.message.error().message;
      shared_->logger.info("message_refused", {{"id", id_}, {"reason", "unreadable"}, {"detail", why}});
      abort();
      if (why.starts_with("cannot read the message")) co_return temporary_failure();
      co_return smtp::Reply{554, "5.6.0", {"Message cannot be read: " + why}};
    }
    const Plan plan = make_plan(classified.routed);
    if (!plan.accepts()) {
      shared_->logger.info("message_refused", {{"id", id_}, {"listener", session_.listener}, {"code", plan.reply_code()}});
      abort();
      co_return reply_from(plan.reply_code(), plan.reply_text());
    }

    auto make_batch = [&]() { return build(plan, *classified.message, classified.routed, size); };
    Result<CommitBatch> batch = make_error("not built");
    if (big_) {
      batch = co_await shared_->workers.run_blocking(make_batch);
    } else {
      batch = make_batch();
    }
    if (!batch) {
      shared_->logger.error("ingest_failed", {{"id", id_}, {"error", batch.error().message}});
      abort();
      co_return temporary_failure();
    }
    const std::size_t queued = batch->queue.size();
    auto committed = co_await await_store<std::monostate>([&](auto d) { shared_->store.commit_async(std::move(*batch), d); });
    if (!committed) {
      shared_->logger.error("ingest_store_failed", {{"id", id_}, {"error", committed.error().message}});
      abort();
      co_return temporary_failure();
    }
    committed_ = true;
    keep_fresh();
    shared_->logger.info("message_accepted", {{"id", id_},
                                              {"listener", session_.listener},
                                              {"session", session_.id},
                                              {"size", size},
                                              {"protected", plan.protects.size()},
                                              {"forwarded", plan.forwards.size()},
                                              {"refused", plan.refused.size()},
                                              {"queued", queued}});
    if (queued > 0 && shared_->queued) shared_->queued();
    co_return smtp::Reply{250, "2.0.0", {"Ok: queued as " + id_}};
  }

  // A staff member's reply to a thread's reply address (staff_reply.hpp): checked against the store
  // and turned into a protected message for the client; the staff mail itself is not kept.
  asio::awaitable<smtp::Reply> finish_staff_reply() {
    const config::Config& cfg = *snap_->config;
    auto refuse = [this](smtp::Reply r, std::string_view reason) {
      shared_->logger.info("staff_reply_refused",
                           {{"id", id_}, {"listener", session_.listener}, {"code", r.code}, {"reason", reason}});
      abort();
      return r;
    };
    if (envelope_.recipients.size() != 1) {
      co_return refuse(smtp::Reply{550, "5.5.3", {"A reply address must be the only recipient"}}, "recipients");
    }
    if (session_.role != config::ListenerRole::submission || !session_.trusted_network) {
      co_return refuse(smtp::Reply{550, "5.7.1", {"Replies to this address are accepted from the organisation's mail server only"}},
                       "untrusted");
    }
    const auto token = routing::reply_token(envelope_.recipients.front(), cfg.reply_domain());
    if (!token) co_return refuse(smtp::Reply{550, "5.1.1", {"No such reply address"}}, "malformed");

    struct Outcome {
      std::optional<smtp::Reply> refusal;
      std::string reason;
      Result<CommitBatch> batch = make_error("not built");
      std::string reply_id;
      std::string thread_id;
    };
    auto work = [&]() {
      Outcome o;
      auto checked = check_staff_reply(shared_->store, cfg, *token, envelope_.sender, shared_->clock.now());
      if (!checked) {
        o.batch = checked.error();
        return o;
      }
      if (auto* r = std::get_if<smtp::Reply>(&*checked)) {
        o.refusal = *r;
        o.reason = r->enhanced == "5.1.1" ? "unknown" : "not_handler";
        return o;
      }
      const auto& target = std::get<StaffReplyTarget>(*checked);
      Result<mime::Message> message = make_error("not parsed");
      if (big_) {
        auto reader = sealed::ContentReader::open(shared_->store, id_, *key_, writer_->plaintext_size());
        if (!reader) {
          o.batch = reader.error();
          return o;
        }
        message = mime::read_message_source(*reader);
      } else {
        message = mime::read_message(plain_);
      }
      if (!message) {
        o.refusal = smtp::Reply{554, "5.6.0", {"Message cannot be read: " + message.error().message}};
        o.reason = "unreadable";
        return o;
      }
      o.reply_id = new_message_id(shared_->clock);
      o.thread_id = target.thread.id;
      o.batch = build_reply(target, *message, o.reply_id);
      return o;
    };
    Outcome outcome = co_await shared_->workers.run_blocking(work);
    if (outcome.refusal) co_return refuse(*outcome.refusal, outcome.reason);
    if (!outcome.batch) {
      shared_->logger.error("ingest_failed", {{"id", id_}, {"error", outcome.batch.error().message}});
      abort();
      co_return temporary_failure();
    }
    const std::size_t queued = outcome.batch->queue.size();
    auto committed =
        co_await await_store<std::monostate>([&](auto d) { shared_->store.commit_async(std::move(*outcome.batch), d); });
    if (!committed) {
      shared_->logger.error("ingest_store_failed", {{"id", id_}, {"error", committed.error().message}});
      abort();
      co_return temporary_failure();
    }
    abort();  // the staff mail itself is not kept; the protected reply is
    shared_->logger.info("staff_reply_accepted", {{"id", outcome.reply_id},
                                                  {"thread", outcome.thread_id},
                                                  {"listener", session_.listener},
                                                  {"session", session_.id},
                                                  {"queued", queued}});
    if (queued > 0 && shared_->queued) shared_->queued();
    co_return smtp::Reply{250, "2.0.0", {"Ok: queued as " + outcome.reply_id}};
  }

  // The protected reply for the client, its read link and notification (staff_reply.hpp, the same
  // for a reply from the portal). Runs on the worker pool.
  Result<CommitBatch> build_reply(const StaffReplyTarget& target, const mime::Message& message, const std::string& reply_id) {
    const config::Config& cfg = *snap_->config;
    const std::shared_ptr<const crypto::KeyRing> current_ring = shared_->rings.current();
    const mime::TextBody* body = nullptr;
    for (const auto& t : message.texts) {
      if (t.content_type == "text/plain") {
        body = &t;
        break;
      }
    }
    if (body == nullptr && !message.texts.empty()) body = &message.texts.front();
    StaffReplyInput in{cfg, *snap_->templates, *current_ring, shared_->clock, target};
    in.reply_id = reply_id;
    in.subject = message.subject;
    in.text = strip_quoted_text(body ? std::string_view(body->text) : std::string_view(), portal_link_prefixes(cfg));
    in.sender = envelope_.sender;
    in.via = "mail";
    in.listener = session_.listener;
    return build_staff_reply(in);
  }

  // Everything the commit makes durable. Runs on the worker pool.
  // What this commit queues, for its first delivery attempt (FreshContent), once it is durable.
  void remember(const std::string& id, store::MessageKind kind, const std::string& content,
                std::chrono::system_clock::time_point created) {
    if (!shared_->options.fresh) return;
    fresh_.push_back({id, FreshContent::Entry{kind, created, content}});
  }

  void keep_fresh() {
    for (auto& [id, entry] : fresh_) shared_->options.fresh->put(id, std::move(entry));
    fresh_.clear();
  }

  void forget_fresh() {
    for (auto& f : fresh_) crypto::secure_wipe(f.second.content);
    fresh_.clear();
  }

  Result<CommitBatch> build(const Plan& plan, const mime::Message& message, const routing::Routed& routed, std::uint64_t size) {
    forget_fresh();
    const config::Config& cfg = *snap_->config;
    const auto now = shared_->clock.now();
    // One ring for the whole batch: every wrapped key and the KEK id beside it agree.
    const std::shared_ptr<const crypto::KeyRing> current_ring = shared_->rings.current();
    const crypto::KeyRing& ring = *current_ring;
    CommitBatch batch;
    nlohmann::json received = {{"listener", session_.listener},
                               {"session", session_.id},
                               {"size", size},
                               {"recipients", envelope_.recipients.size()}};
    if (session_.auth_user) received["user"] = *session_.auth_user;
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : routed.findings) findings.push_back({{"detector", f.detector}, {"where", f.where}});
    received["findings"] = findings;
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& d : routed.decisions) rules.push_back(d.rule ? d.rule->name : std::string("-"));
    received["rules"] = rules;
    batch.audit.push_back({"message.received", id_, "smtp:" + session_.listener, "accepted", received.dump()});

    // The spooled content is used by the first copy; any further copy is sealed again.
    bool spool_used = false;
    auto content_for = [&](const std::string& id, const crypto::DataKey& key) -> Result<std::vector<Chunk>> {
      if (!plain_.empty() || !big_) return sealed::seal_pieces(key, id, plain_);
      auto reader = sealed::ContentReader::open(shared_->store, id_, *key_, writer_->plaintext_size());
      if (!reader) return reader.error();
      sealed::ContentWriter w(key, id);
      std::vector<Chunk> out;
      for (;;) {
        auto c = (*reader)->next();
        if (!c) return c.error();
        if (c->empty()) break;
        w.update(*c, out);
      }
      w.finish(out);
      return out;
    };
    auto add_message = [&](MessageMeta meta, bool use_spool) -> Result<std::monostate> {
      MessageCommit mc;
      mc.id = meta.id;
      mc.size = size;
      if (use_spool) {
        mc.chunks = std::move(pending_);
        pending_.clear();
        meta.wrapped_key = ring.wrap(*key_, meta.id);
      } else {
        auto key = crypto::DataKey::generate();
        auto pieces = content_for(meta.id, key);
        if (!pieces) return pieces.error();
        mc.chunks = std::move(*pieces);
        meta.wrapped_key = ring.wrap(key, meta.id);
      }
      meta.kek_id = ring.active_kek();
      meta.size = size;
      mc.meta = std::move(meta);
      batch.messages.push_back(std::move(mc));
      return std::monostate{};
    };
    auto add_small = [&](MessageMeta meta, const std::string& content) {
      auto key = crypto::DataKey::generate();
      MessageCommit mc;
      mc.id = meta.id;
      mc.size = content.size();
      mc.chunks = sealed::seal_pieces(key, meta.id, content);
      meta.wrapped_key = ring.wrap(key, meta.id);
      meta.kek_id = ring.active_kek();
      meta.size = content.size();
      remember(meta.id, meta.kind, content, now);
      mc.meta = std::move(meta);
      batch.messages.push_back(std::move(mc));
    };

    const config::Language language = plan.language.value_or(cfg.instance.default_language);
    const auto link_expires = now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.unlock.link_ttl);
    const auto message_expires =
        now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.retention.protected_messages);
    const auto transient_expires =
        now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.delivery.lifetime + std::chrono::hours(24));
    std::optional<crypto::Sha256Digest> identity;
    if (routed.marks.identity_code) {
      auto secret = ring.server_secret("identity");
      if (!secret) return secret.error();
      identity = crypto::identity_key(*secret, *routed.marks.identity_code);
    }
    const std::string subject = routed.marks.subject_tag ? routed.marks.subject : message.subject;

    for (const ProtectedCopy& copy : plan.protects) {
      const std::string id = spool_used ? new_message_id(shared_->clock) : id_;
      const bool use_spool = !spool_used;
      spool_used = true;
      MessageMeta meta;
      meta.id = id;
      meta.kind = store::MessageKind::protected_message;
      meta.protection = to_store(copy.level);
      meta.sender = envelope_.sender;
      for (const auto& r : copy.recipients) meta.recipients.push_back(r.address);
      meta.team_id = copy.team ? copy.team->id : std::string();
      meta.thread_id = copy.team ? id : std::string();
      meta.language = config::to_string(language);
      meta.expires = ts(message_expires);
      switch (copy.level) {
        case ProtectionLevel::sms: {
          meta.unlock.kind = store::UnlockKind::phone;
          // The phone number is sealed under the message's own key, bound to its use.
          const crypto::DataKey& k = *key_;
          if (use_spool) {
            meta.unlock.sealed_phone = crypto::seal_message(k, id + ".phone", crypto::as_bytes(*copy.phone));
          }
          break;
        }
        case ProtectionLevel::personal:
          meta.unlock.kind = store::UnlockKind::identity;
          if (identity) meta.unlock.identity_hash.assign(identity->begin(), identity->end());
          break;
        case ProtectionLevel::letter:
          meta.unlock.kind = store::UnlockKind::device;
          break;
      }
      if (copy.level == ProtectionLevel::sms && !use_spool) {
        // A further copy has its own key; its phone is sealed under that key in add_message's place.
        // Seal the copy first, then the phone under the copy's key.
        auto key = crypto::DataKey::generate();
        auto pieces = content_for(id, key);
        if (!pieces) return pieces.error();
        meta.unlock.sealed_phone = crypto::seal_message(key, id + ".phone", crypto::as_bytes(*copy.phone));
        meta.wrapped_key = ring.wrap(key, id);
        meta.kek_id = ring.active_kek();
        meta.size = size;
        MessageCommit mc{id, std::move(meta), std::move(*pieces), size};
        batch.messages.push_back(std::move(mc));
      } else {
        if (auto added = add_message(std::move(meta), use_spool); !added) return added.error();
      }
      if (copy.team) {
        // The conversation with the team: replies from staff go back to the sender, bound to the
        // identity the message was marked with, if any.
        store::Thread thread;
        thread.id = id;
        thread.team_id = copy.team->id;
        if (copy.identity_bound && identity) thread.client_identity.assign(identity->begin(), identity->end());
        thread.client_address = envelope_.sender;
        thread.language = config::to_string(language);
        thread.expires = ts(message_expires);
        batch.threads.push_back(std::move(thread));
      }
      nlohmann::json stored = {{"level", config::to_string(copy.level)}, {"recipients", copy.recipients.size()}};
      if (copy.team) stored["team"] = copy.team->id;
      if (id != id_) stored["copy_of"] = id_;
      batch.audit.push_back({"message.stored", id, "smtp:" + session_.listener, "ok", stored.dump()});

      // One read link and one notification per recipient (a team: its mailbox, once).
      std::uint32_t index = 0;
      for (const auto& r : copy.recipients) {
        const std::string token = crypto::generate_token();
        store::ReadToken t;
        const auto h = crypto::token_hash(token);
        std::copy(h.begin(), h.end(), t.token_hash.begin());
        t.message_id = id;
        t.recipient = copy.team ? copy.team->mailbox : r.address;
        t.recipient_index = index;
        t.purpose = store::TokenPurpose::read;
        t.expires = ts(link_expires);
        batch.tokens.push_back(t);

        std::string reply_to;
        if (copy.team) {
          const std::string reply_token = crypto::generate_token();
          store::ReadToken rt = t;
          const auto rh = crypto::token_hash(reply_token);
          std::copy(rh.begin(), rh.end(), rt.token_hash.begin());
          rt.purpose = store::TokenPurpose::reply;
          batch.tokens.push_back(rt);
          reply_to = routing::reply_address(reply_token, cfg.reply_domain());
        }
        const std::string notification_id = new_message_id(shared_->clock);
        NotificationRequest n;
        n.config = &cfg;
        n.templates = snap_->templates.get();
        n.language = copy.team ? cfg.instance.default_language : language;
        n.to = t.recipient;
        n.team = copy.team;
        n.for_team = copy.team != nullptr;
        n.token = token;
        n.message_ref = id;
        n.level = copy.level;
        n.phone = copy.phone;
        n.original_subject = subject;
        n.sender = envelope_.sender;
        n.expires = link_expires;
        n.now = now;
        n.message_id = notification_id + "@" + host_of(cfg);
        n.reply_to = reply_to;
        auto mail = compose_notification(n);
        if (!mail) return mail.error();
        MessageMeta nm;
        nm.id = notification_id;
        nm.kind = store::MessageKind::notification;
        nm.sender = envelope_.sender;
        nm.recipients = {t.recipient};
        nm.thread_id = meta.thread_id;
        nm.language = config::to_string(n.language);
        nm.expires = ts(transient_expires);
        add_small(std::move(nm), *mail);
        store::QueueEntry q;
        q.message_id = notification_id;
        q.sender = envelope_.sender;
        q.recipient = t.recipient;
        q.kind = store::DeliveryKind::notification;
        batch.queue.push_back(q);
        batch.audit.push_back({"notification.queued", id, "smtp:" + session_.listener, "ok",
                               nlohmann::json{{"notification", notification_id}, {"recipient_index", index}}.dump()});
        ++index;
      }
    }

    if (!plan.forwards.empty()) {
      const std::string id = spool_used ? new_message_id(shared_->clock) : id_;
      const bool use_spool = !spool_used;
      spool_used = true;
      MessageMeta meta;
      meta.id = id;
      meta.kind = store::MessageKind::spool;
      meta.sender = envelope_.sender;
      for (const auto& f : plan.forwards) meta.recipients.push_back(f.team->mailbox);
      meta.expires = ts(transient_expires);
      if (!big_) remember(id, meta.kind, plain_, now);
      if (auto added = add_message(std::move(meta), use_spool); !added) return added.error();
      for (const auto& f : plan.forwards) {
        store::QueueEntry q;
        q.message_id = id;
        q.sender = envelope_.sender;
        q.recipient = f.team->mailbox;
        q.kind = store::DeliveryKind::forward;
        batch.queue.push_back(q);
        batch.audit.push_back({"message.forwarded", id, "smtp:" + session_.listener, "queued",
                               nlohmann::json{{"team", f.team->id}, {"recipients", f.recipients.size()}}.dump()});
      }
    }

    // Recipients refused after DATA while others were accepted: SMTP cannot refuse them any more,
    // so the sender gets a DSN naming them (never to <>).
    if (!plan.refused.empty() && !envelope_.sender.empty()) {
      std::string head;
      if (!big_) {
        head = plain_.substr(0, std::min(plain_.size(), smtp::DsnRequest::max_original_headers));
      } else if (auto reader = sealed::ContentReader::open(shared_->store, id_, *key_, writer_->plaintext_size())) {
        head.resize(std::min<std::uint64_t>(size, smtp::DsnRequest::max_original_headers));
        auto n = (*reader)->read_at(0, std::span<char>(head.data(), head.size()));
        head.resize(n ? *n : 0);
      }
      smtp::DsnRequest req;
      req.reporting_mta = host_of(cfg);
      req.from = "MAILER-DAEMON@" + cfg.reply_domain();
      req.original_sender = envelope_.sender;
      req.arrival_date = now;
      req.date = now;
      req.original_message = head;
      for (const auto& r : plan.refused) {
        smtp::DsnRecipient d;
        d.recipient = r.shown;
        d.action = smtp::DsnAction::failed;
        const auto space = r.text.find(' ');
        d.status = space != std::string::npos && r.text[1] == '.' ? r.text.substr(0, space) : "5.0.0";
        d.diagnostic = std::to_string(r.code) + " " + r.text;
        d.last_attempt = now;
        req.recipients.push_back(d);
      }
      auto dsn = smtp::build_dsn(req);
      if (!dsn) return dsn.error();
      const std::string dsn_id = new_message_id(shared_->clock);
      MessageMeta dm;
      dm.id = dsn_id;
      dm.kind = store::MessageKind::dsn;
      dm.recipients = {envelope_.sender};
      dm.expires = ts(transient_expires);
      add_small(std::move(dm), dsn->message);
      store::QueueEntry q;
      q.message_id = dsn_id;
      q.recipient = envelope_.sender;
      q.kind = store::DeliveryKind::dsn;
      batch.queue.push_back(q);
      batch.audit.push_back({"dsn.queued", id_, "smtp:" + session_.listener, "ok",
                             nlohmann::json{{"dsn", dsn_id}, {"refused", plan.refused.size()}}.dump()});
    }
    return batch;
  }

  std::shared_ptr<Ingest::Shared> shared_;
  std::shared_ptr<const Snapshot> snap_;
  smtp::SessionInfo session_;
  smtp::Envelope envelope_;
  std::string id_;
  std::optional<crypto::DataKey> key_;
  std::optional<sealed::ContentWriter> writer_;
  std::vector<Chunk> pending_;  // sealed pieces not yet in the store
  std::size_t streamed_ = 0;    // pieces already appended
  std::string plain_;           // the message while it is small
  bool big_ = false;
  bool begun_ = false;          // begin_message done: abort must clean up
  bool committed_ = false;
  bool failed_ = false;
  std::vector<std::pair<std::string, FreshContent::Entry>> fresh_;  // see remember()
};

}  // namespace

Ingest::Ingest(std::shared_ptr<const Snapshot> snapshot, store::Store& store, const crypto::KeyRingHolder& rings,
               server::WorkerPool& workers, const Clock& clock, const log::Logger& logger, std::function<void()> queued,
               IngestOptions options)
    : shared_(std::make_shared<Shared>(store, rings, workers, clock, logger, std::move(queued), options)),
      snapshot_(std::move(snapshot)) {}

Ingest::~Ingest() = default;

std::unique_ptr<smtp::MessageSink> Ingest::open(const smtp::SessionInfo&) {
  return std::make_unique<Sink>(shared_, snapshot_.load());
}

void Ingest::reconfigure(const std::shared_ptr<const config::Config>& config) {
  auto s = make_snapshot(config);
  if (!s) {
    shared_->logger.error("ingest_reload_failed", {{"error", s.error().message}});
    return;
  }
  snapshot_.store(std::move(*s));
}

std::size_t Ingest::active() const { return shared_->active.load(); }

}  // namespace sinetti::ingest
