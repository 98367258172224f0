// Retention: what `sinetti purge` runs at once and serve's Housekeeping runs every
// retention.interval (DESIGN "Data flow": housekeeping; "Decisions": crypto-shredding). It shreds
// messages past their expiry (protected messages after retention.protected_messages, spool,
// notification and DSN copies after their delivery lifetime), deletes finished queue entries older
// than delivery.lifetime, portal sessions past their expiry or idle time, and audit records older
// than retention.audit_log (moving the chain's checkpoint, so the rest still verifies), the claims
// of shredded messages, threads with no message left (the client's identity key and address go
// with them), and staff members not seen for retention.protected_messages. No input
// from outside: only the store and the configuration.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/result.hpp"

namespace sinetti::housekeeping {

struct RetentionRun {
  std::size_t expired = 0;         // messages crypto-shredded
  std::size_t queue_entries = 0;   // finished queue entries deleted
  std::size_t sessions = 0;        // portal sessions deleted
  std::uint64_t audit_records = 0; // audit records deleted (the chain checkpoint moved past them)
  store::ConversationPurge conversations;  // claims, threads and staff members deleted
  bool removed_anything() const {
    return expired + queue_entries + sessions + audit_records + conversations.claims + conversations.threads +
               conversations.staff_members > 0;
  }
};

enum class RecordRun {
  always,        // an operator's `sinetti purge`: the run itself is an admin action in the audit log
  when_removed,  // the server's periodic run: a record only when it removed something
};

// Runs retention as of `now`. Each shredded message gets its own "message.expired" record and an
// audit purge its "audit.purged" record (from the store); `record` decides whether a
// "retention.run" record by `actor` with the counts is appended as well.
Result<RetentionRun> run_retention(const config::Config& config, store::Store& store,
                                   std::chrono::system_clock::time_point now, const std::string& actor,
                                   RecordRun record);

}  // namespace sinetti::housekeeping
