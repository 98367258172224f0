// The operator's commands on a gateway's state: `keys init|rotate|list`, `queue list|retry|drop`,
// `message status|revoke`, `audit verify|export`, `purge`. Each loads the configuration (schema
// checked, files not), opens what it needs and prints one line per item; problems are one line on
// stderr and exit 1. They may run while `serve` runs: the store is shared through SQLite's locking.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <set>

#include "config/config.hpp"
#include "crypto/key_ring.hpp"
#include "crypto/primitives.hpp"
#include "crypto/sealed_stream.hpp"
#include "gateway/cli/commands.hpp"
#include "gateway/cli/runtime.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "gateway/housekeeping/retention.hpp"

namespace sinetti::cli {

namespace {

std::shared_ptr<const config::Config> load(const std::filesystem::path& path) {
  auto loaded = config::load_file(path, config::LoadOptions{false});
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e.str() << "\n";
    std::cerr << "sinetti: " << path.string() << ": the configuration has errors (sinetti check-config)\n";
  }
  return loaded.config;
}

int problem(const std::string& what) {
  std::cerr << "sinetti: " << what << "\n";
  return exit_problem;
}

std::string when(store::Timestamp t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(std::chrono::system_clock::time_point(t.time_since_epoch()));
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string when(std::chrono::system_clock::time_point t) { return when(store::to_timestamp(t)); }

std::string hex(std::span<const std::uint8_t> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto x : b) {
    out += digits[x >> 4];
    out += digits[x & 15];
  }
  return out;
}

std::string actor() {
  const char* user = std::getenv("SUDO_USER");
  if (user == nullptr) user = std::getenv("USER");
  return std::string("cli:") + (user != nullptr ? user : std::to_string(::getuid()));
}

struct Opened {
  std::shared_ptr<const config::Config> config;
  std::unique_ptr<store::Store> store;
};

// An audit record for an admin action that is not itself a store change (key ring actions).
std::optional<Error> record(const config::Config& c, const Clock& clock, store::AuditEvent event) {
  auto s = open_store(c, clock);
  if (!s) return s.error();
  if (auto appended = (*s)->append_audit({std::move(event)}); !appended) return appended.error();
  return std::nullopt;
}

// Details as stored, as JSON; a record altered into something that is not JSON shows as its text.
nlohmann::json details_json(const std::string& details) {
  auto j = nlohmann::json::parse(details, nullptr, false);
  if (j.is_discarded()) return details;
  return j;
}

std::optional<Opened> open(const std::filesystem::path& path, const Clock& clock) {
  auto c = load(path);
  if (!c) return std::nullopt;
  auto s = open_store(*c, clock);
  if (!s) {
    problem(s.error().message);
    return std::nullopt;
  }
  return Opened{c, std::move(*s)};
}

// Whether a message's stored content still opens: its data key unwraps with the key ring's private
// half and every chunk verifies (nothing of the plaintext is kept or shown).
struct ContentCheck {
  bool present = false;  // a wrapped key is stored (not shredded)
  std::uint64_t bytes = 0;
  std::string problem;   // empty: opens and verifies
};

ContentCheck check_content(const config::Config& c, store::Store& st, const store::MessageMeta& m) {
  ContentCheck out;
  out.present = m.wrapped_key.has_value();
  if (!out.present) return out;
  auto ring = crypto::KeyRing::load(c.keys.dir, crypto::Access::open);
  if (!ring) {
    out.problem = ring.error().message;
    return out;
  }
  auto reader = sealed::ContentReader::open(st, m, *ring);
  if (!reader) {
    out.problem = reader.error().message;
    return out;
  }
  for (;;) {
    auto piece = (*reader)->next();
    if (!piece) {
      out.problem = piece.error().message;
      return out;
    }
    if (piece->empty()) break;
    out.bytes += piece->size();
  }
  if (out.bytes != m.size) out.problem = "opens, but holds " + std::to_string(out.bytes) + " bytes instead of " + std::to_string(m.size);
  return out;
}

}  // namespace

// ---- keys -----------------------------------------------------------------------------------------

int keys(const std::filesystem::path& config_path, const std::string& action, bool rewrap) {
  auto c = load(config_path);
  if (!c) return exit_problem;
  SystemClock clock;
  const auto& dir = c->keys.dir;
  if (action == "init") {
    auto id = crypto::KeyRing::init(dir, clock);
    if (!id) return problem("keys init: " + id.error().message);
    std::cout << "created key ring in " << dir.string() << " (KEK " << *id << " active); back it up offline\n";
    if (auto failed = record(*c, clock, {"keys.initialized", "", actor(), "ok", nlohmann::json{{"kek", *id}}.dump()})) {
      return problem("keys init: the key ring was created, but its audit record was not written: " + failed->message);
    }
    return exit_ok;
  }
  if (action == "list") {
    auto list = crypto::KeyRing::list(dir);
    if (!list) return problem("keys list: " + list.error().message);
    for (const auto& k : *list) {
      std::cout << "kek " << k.id << "  created " << when(k.created) << (k.active ? "  active" : "")
                << (k.has_private ? "" : "  (public half only: cannot open)") << "\n";
    }
    return exit_ok;
  }
  if (action != "rotate") return problem("keys: unknown action '" + action + "'");
  auto id = crypto::KeyRing::rotate(dir, clock);
  if (!id) return problem("keys rotate: " + id.error().message);
  std::cout << "KEK " << *id << " is now active; reload the gateway (SIGHUP) so that new messages use it\n";
  if (auto failed = record(*c, clock, {"keys.rotated", "", actor(), "ok", nlohmann::json{{"kek", *id}}.dump()})) {
    return problem("keys rotate: KEK " + std::to_string(*id) + " was added, but its audit record was not written: " +
                   failed->message);
  }
  if (!rewrap) return exit_ok;

  auto ring = crypto::KeyRing::load(dir, crypto::Access::open);
  if (!ring) return problem("keys rotate --rewrap: " + ring.error().message);
  auto s = open_store(*c, clock);
  if (!s) return problem(s.error().message);
  store::Store& st = **s;
  std::size_t done = 0, failed = 0;
  store::MessageId after;
  for (;;) {
    auto batch = st.list_wrapped_keys(after, 200, ring->active_kek());
    if (!batch) return problem("keys rotate --rewrap: " + batch.error().message);
    if (batch->empty()) break;
    std::vector<store::Rewrap> rewraps;
    for (const auto& w : *batch) {
      after = w.id;
      auto first = st.read_chunk(w.id, 0);
      std::optional<crypto::SealedHeader> header;
      if (first && *first) {
        if (auto h = crypto::parse_sealed_header(**first)) header = *h;
      }
      if (!header) {
        std::cerr << "sinetti: message " << w.id << ": no readable content, left as it is\n";
        ++failed;
        continue;
      }
      auto fresh = ring->rewrap(w.wrapped_key, header->key_id, w.id);
      if (!fresh) {
        std::cerr << "sinetti: message " << w.id << ": " << fresh.error().message << "\n";
        ++failed;
        continue;
      }
      rewraps.push_back(store::Rewrap{w.id, w.kek_id, ring->active_kek(), std::move(*fresh)});
    }
    auto n = st.rewrap(rewraps);
    if (!n) return problem("keys rotate --rewrap: " + n.error().message);
    done += *n;
  }
  const nlohmann::json details = {{"kek", ring->active_kek()}, {"rewrapped", done}, {"failed", failed}};
  if (auto appended = st.append_audit({{"keys.rewrapped", "", actor(), failed > 0 ? "partial" : "ok", details.dump()}});
      !appended) {
    return problem("keys rotate --rewrap: " + appended.error().message);
  }
  std::cout << "rewrapped " << done << " data keys to KEK " << ring->active_kek();
  if (failed > 0) std::cout << "; " << failed << " could not be rewrapped (see above)";
  std::cout << "\n";
  return failed > 0 ? exit_problem : exit_ok;
}

// ---- queue ----------------------------------------------------------------------------------------

int queue(const std::filesystem::path& config_path, const std::string& action, const std::string& id, bool json) {
  SystemClock clock;
  auto o = open(config_path, clock);
  if (!o) return exit_problem;
  auto& st = *o->store;
  if (action == "list") {
    store::QueueFilter f;
    f.limit = 500;
    std::size_t shown = 0;
    for (;;) {
      auto page = st.list_queue(f);
      if (!page) return problem("queue list: " + page.error().message);
      for (const auto& e : *page) {
        if (json) {
          nlohmann::json j = {{"id", e.id},           {"message", e.message_id},
                              {"kind", std::string(store::to_string(e.kind))},
                              {"state", std::string(store::to_string(e.state))},
                              {"sender", e.sender},   {"recipient", e.recipient},
                              {"attempts", e.attempts}, {"created", when(e.created)},
                              {"last_error", e.last_error}};
          if (e.next_attempt) j["next_attempt"] = when(*e.next_attempt);
          std::cout << j.dump() << "\n";
        } else {
          std::cout << e.id << "  " << store::to_string(e.state) << "  " << store::to_string(e.kind) << "  <"
                    << e.sender << "> -> <" << e.recipient << ">  attempts " << e.attempts;
          if (e.next_attempt && e.state == store::QueueState::queued) std::cout << "  next " << when(*e.next_attempt);
          if (!e.last_error.empty()) std::cout << "  (" << e.last_error << ")";
          std::cout << "\n";
        }
        ++shown;
      }
      if (page->size() < f.limit) break;
      f.after_id = page->back().id;
    }
    if (!json) std::cout << shown << (shown == 1 ? " entry\n" : " entries\n");
    return exit_ok;
  }
  // The record names the entry's message, so that `message status` shows the operator's action.
  auto found = st.find_queue_entry(id);
  if (!found) return problem("queue " + action + ": " + found.error().message);
  const std::string message_id = *found ? (**found).message_id : std::string();
  const store::AuditEvents audit = {{action == "retry" ? "queue.retry" : "queue.drop", message_id, actor(), "ok",
                                     nlohmann::json{{"entry", id}}.dump()}};
  auto r = action == "retry" ? st.retry(id, audit) : st.drop(id, audit);
  if (!r) return problem("queue " + action + ": " + r.error().message);
  if (!*r) {
    if (*found && (**found).state == store::QueueState::leased && (**found).lease_expires) {
      return problem("queue " + action + ": entry " + id + " is being delivered now (leased until " +
                     when(*(**found).lease_expires) + "); try again once that attempt has ended");
    }
    return problem("queue " + action + ": no entry " + id + " that can be " + (action == "retry" ? "retried" : "dropped"));
  }
  std::cout << id << (action == "retry" ? ": due now\n" : ": dropped\n");
  return exit_ok;
}

// ---- message --------------------------------------------------------------------------------------

int message(const std::filesystem::path& config_path, const std::string& action, const std::string& id, bool json) {
  SystemClock clock;
  auto o = open(config_path, clock);
  if (!o) return exit_problem;
  auto& st = *o->store;
  auto meta = st.find_message(id);
  if (!meta) return problem("message " + action + ": " + meta.error().message);
  if (!*meta) return problem("message " + id + ": no such message");
  const store::MessageMeta& m = **meta;
  if (action == "revoke") {
    auto r = st.revoke(id, actor());
    if (!r) return problem("message revoke: " + r.error().message);
    std::cout << id << (*r ? ": revoked; its content and data key are destroyed\n" : ": was already destroyed\n");
    return exit_ok;
  }
  // status: the message and its history — notified, PIN sent, opened, by which method.
  std::set<std::string> related = {id};
  std::vector<store::AuditRecord> records;
  auto exported = st.export_audit(0, [&](const store::AuditRecord& r) {
    if (r.event == "notification.queued" && r.message_id == id) {
      auto d = nlohmann::json::parse(r.details, nullptr, false);
      if (d.is_object() && d.contains("notification")) related.insert(d["notification"].get<std::string>());
    }
    if (related.contains(r.message_id)) records.push_back(r);
    return true;
  });
  if (!exported) return problem("message status: " + exported.error().message);
  const ContentCheck content = check_content(*o->config, st, m);
  if (json) {
    nlohmann::json j = {{"id", m.id},
                        {"kind", std::string(store::to_string(m.kind))},
                        {"state", std::string(store::to_string(m.state))},
                        {"protection", std::string(store::to_string(m.protection))},
                        {"unlock", std::string(store::to_string(m.unlock.kind))},
                        {"sender", m.sender},
                        {"recipients", m.recipients},
                        {"team", m.team_id},
                        {"created", when(m.created)},
                        {"size", m.size}};
    if (m.expires) j["expires"] = when(*m.expires);
    nlohmann::json c = {{"present", content.present}};
    if (content.present) {
      c["kek"] = m.kek_id;
      c["verified"] = content.problem.empty();
      if (!content.problem.empty()) c["problem"] = content.problem;
    }
    j["content"] = c;
    nlohmann::json events = nlohmann::json::array();
    for (const auto& r : records) {
      events.push_back({{"seq", r.seq}, {"at", when(r.at)}, {"event", r.event}, {"message", r.message_id},
                        {"actor", r.actor}, {"outcome", r.outcome}, {"details", details_json(r.details)}});
    }
    j["events"] = events;
    std::cout << j.dump() << "\n";
    return exit_ok;
  }
  std::cout << "message " << m.id << "\n"
            << "  kind        " << store::to_string(m.kind) << "\n"
            << "  state       " << store::to_string(m.state) << (m.shredded ? " at " + when(*m.shredded) : "") << "\n"
            << "  protection  " << store::to_string(m.protection) << " (unlock: " << store::to_string(m.unlock.kind) << ")\n"
            << "  sender      <" << m.sender << ">\n";
  for (const auto& r : m.recipients) std::cout << "  recipient   <" << r << ">\n";
  if (!m.team_id.empty()) std::cout << "  team        " << m.team_id << "\n";
  std::cout << "  created     " << when(m.created) << "\n";
  if (m.expires) std::cout << "  expires     " << when(*m.expires) << "\n";
  std::cout << "  content     ";
  if (!content.present) {
    std::cout << "destroyed (no data key)\n";
  } else if (content.problem.empty()) {
    std::cout << m.size << " bytes sealed, data key wrapped to KEK " << m.kek_id << ": opens and verifies\n";
  } else {
    std::cout << m.size << " bytes sealed, data key wrapped to KEK " << m.kek_id << ": does not open: " << content.problem << "\n";
  }
  std::cout << "history\n";
  for (const auto& r : records) {
    std::cout << "  " << when(r.at) << "  " << r.event << "  " << r.outcome << "  " << r.actor;
    if (r.message_id != id) std::cout << "  (" << r.message_id << ")";
    std::cout << "\n";
  }
  return exit_ok;
}

// ---- audit ----------------------------------------------------------------------------------------

int audit(const std::filesystem::path& config_path, const std::string& action) {
  SystemClock clock;
  auto o = open(config_path, clock);
  if (!o) return exit_problem;
  auto& st = *o->store;
  if (action == "verify") {
    auto v = st.verify_audit();
    if (!v) return problem("audit verify: " + v.error().message);
    if (!v->ok) {
      // The one line names the first bad record; everything before it verified.
      return problem("audit verify: the chain is broken at record " +
                     (v->first_bad_seq ? std::to_string(*v->first_bad_seq) : std::string("?")) + ": " + v->problem +
                     " (" + std::to_string(v->records) + " records read)");
    }
    std::cout << "audit chain ok: " << v->records << " records, head " << v->head.seq << " " << hex(v->head.hash) << "\n";
    return exit_ok;
  }
  auto n = st.export_audit(0, [](const store::AuditRecord& r) {
    nlohmann::json j = {{"seq", r.seq},         {"at", when(r.at)},         {"event", r.event},
                        {"message", r.message_id}, {"actor", r.actor},      {"outcome", r.outcome},
                        {"details", details_json(r.details)},
                        {"prev_hash", hex(r.prev_hash)}, {"hash", hex(r.hash)}};
    std::cout << j.dump() << "\n";
    return true;
  });
  if (!n) return problem("audit export: " + n.error().message);
  return exit_ok;
}

// ---- purge ----------------------------------------------------------------------------------------

int purge(const std::filesystem::path& config_path) {
  SystemClock clock;
  auto o = open(config_path, clock);
  if (!o) return exit_problem;
  auto r = housekeeping::run_retention(*o->config, *o->store, clock.now(), actor(), housekeeping::RecordRun::always);
  if (!r) return problem("purge: " + r.error().message);
  std::cout << "expired " << r->expired << " messages, removed " << r->queue_entries << " finished queue entries, "
            << r->sessions << " sessions and " << r->audit_records << " audit records; "
            << r->conversations.threads << " threads, " << r->conversations.claims << " claims and "
            << r->conversations.staff_members << " staff members with nothing left\n";
  return exit_ok;
}

}  // namespace sinetti::cli
