// What `serve` and the operator's commands open from a configuration: the key ring and the store.
// One place, so that every command finds the same files with the same checks.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "crypto/key_ring.hpp"
#include "gateway/log.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"
#include "sinetti/result.hpp"

namespace sinetti::cli {

// Loads keys.dir. With `create` (serve and keys.create_if_missing) a directory without a ring gets
// a new one, logged.
Result<crypto::KeyRing> open_key_ring(const config::Config& config, crypto::Access access, const Clock& clock,
                                      bool create, const log::Logger* logger);

// Opens the configured store (creating the database's directory 0700 when missing).
Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, const Clock& clock);

// Retention (`sinetti purge`, and the server's housekeeping): shreds protected messages past their
// expiry, deletes finished queue entries older than delivery.lifetime, expired portal sessions and
// audit records older than retention.audit_log (keeping the chain verifiable).
struct RetentionRun {
  std::size_t expired = 0;
  std::size_t queue_entries = 0;
  std::size_t sessions = 0;
  std::uint64_t audit_records = 0;
};
Result<RetentionRun> run_retention(const config::Config& config, store::Store& store,
                                   std::chrono::system_clock::time_point now, const std::string& actor);

}  // namespace sinetti::cli
