// What `serve` and the operator's commands open from a configuration: the key ring and the store.
// One place, so that every command finds the same files with the same checks. (Retention, which
// both run, is gateway/housekeeping/retention.hpp.)
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

// Opens the configured store (creating the database's directory 0700 when missing). `serve` asks
// for one read connection per worker thread, so a worker never waits for another's read.
Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, const Clock& clock,
                                                 std::size_t read_connections = 4);

}  // namespace sinetti::cli
