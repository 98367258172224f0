#include "gateway/housekeeping/retention.hpp"

#include <nlohmann/json.hpp>

namespace sinetti::housekeeping {

namespace {

// Shredding goes in batches so that one run never holds the writer for long.
constexpr std::size_t expire_batch = 500;

template <typename D>
std::chrono::milliseconds ms(D d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

}  // namespace

Result<RetentionRun> run_retention(const config::Config& config, store::Store& store,
                                   std::chrono::system_clock::time_point now, const std::string& actor,
                                   RecordRun record) {
  RetentionRun out;
  const auto t = store::to_timestamp(now);
  for (;;) {
    auto n = store.expire(t, expire_batch);
    if (!n) return n.error();
    out.expired += *n;
    if (*n < expire_batch) break;
  }
  // Finished queue entries are kept a while for `queue list` and the operator's questions.
  auto q = store.purge_queue(t - ms(config.delivery.lifetime));
  if (!q) return q.error();
  out.queue_entries = *q;
  auto s = store.purge_sessions(t, t - ms(config.portal.session_idle));
  if (!s) return s.error();
  out.sessions = *s;
  auto c = store.purge_conversations(t - ms(config.retention.protected_messages));
  if (!c) return c.error();
  out.conversations = *c;
  auto a = store.purge_audit(t - ms(config.retention.audit_log), actor);
  if (!a) return a.error();
  out.audit_records = *a;
  if (record == RecordRun::always || out.removed_anything()) {
    const nlohmann::json details = {{"expired", out.expired},
                                    {"queue_entries", out.queue_entries},
                                    {"sessions", out.sessions},
                                    {"audit_records", out.audit_records},
                                    {"claims", out.conversations.claims},
                                    {"threads", out.conversations.threads},
                                    {"staff_members", out.conversations.staff_members}};
    if (auto appended = store.append_audit({{"retention.run", "", actor, "ok", details.dump()}}); !appended) {
      return appended.error();
    }
  }
  return out;
}

}  // namespace sinetti::housekeeping
