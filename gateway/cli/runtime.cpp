#include "gateway/cli/runtime.hpp"

#include <sys/stat.h>

#include <system_error>

#include "crypto/primitives.hpp"
#include "gateway/store/sqlite_store.hpp"

namespace sinetti::cli {

namespace fs = std::filesystem;

Result<crypto::KeyRing> open_key_ring(const config::Config& config, crypto::Access access, const Clock& clock,
                                      bool create, const log::Logger* logger) {
  const fs::path& dir = config.keys.dir;
  std::error_code ec;
  const bool exists = fs::exists(dir / "active", ec);
  if (!exists && create) {
    auto made = crypto::KeyRing::init(dir, clock);
    if (!made) return make_error("keys.dir " + dir.string() + ": " + made.error().message);
    if (logger) logger->info("key_ring_created", {{"dir", dir.string()}, {"kek", *made}});
  } else if (!exists) {
    return make_error("keys.dir " + dir.string() + " holds no key ring; create one with `sinetti keys init`");
  }
  auto ring = crypto::KeyRing::load(dir, access);
  if (!ring) return make_error("keys.dir " + dir.string() + ": " + ring.error().message);
  return ring;
}

Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, const Clock& clock,
                                                 std::size_t read_connections) {
  if (config.storage.backend != config::StorageBackend::sqlite) {
    return make_error("storage.backend postgresql is not available in this build yet; use sqlite");
  }
  const fs::path parent = config.storage.sqlite_path.parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    if (!fs::exists(parent, ec)) {
      fs::create_directories(parent, ec);
      if (ec) return make_error("cannot create " + parent.string() + ": " + ec.message());
      ::chmod(parent.c_str(), 0700);
    }
  }
  store::SqliteOptions options;
  options.path = config.storage.sqlite_path;
  options.read_connections = read_connections;
  auto hash = [](std::span<const std::uint8_t> data) {
    const auto d = crypto::sha256(data);
    store::Hash h{};
    std::copy(d.begin(), d.end(), h.begin());
    return h;
  };
  auto s = store::SqliteStore::open(options, clock, hash);
  if (!s) return make_error("storage " + config.storage.sqlite_path.string() + ": " + s.error().message);
  return std::unique_ptr<store::Store>(std::move(*s));
}

}  // namespace sinetti::cli
