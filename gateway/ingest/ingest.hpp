// Ingest: what happens to a message between DATA and "250 queued as ID" (DESIGN "Data flow").
// While DATA streams in, the message is sealed under a fresh data key (wrapped to the key ring's
// public half — opening needs the private half, which ingest never uses); small messages stay in
// memory until the end, large ones go to the store piece by piece. At the final dot the message is
// parsed and classified, and one transaction commits the sealed copies, read links, notifications,
// queue entries and audit records; only then does the client hear 250. Storage errors answer 451
// and leave nothing behind. Untrusted input: the whole message and its envelope.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "config/config.hpp"
#include "crypto/key_ring_holder.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/log.hpp"
#include "gateway/routing/table.hpp"
#include "gateway/server/service.hpp"
#include "gateway/server/worker_pool.hpp"
#include "gateway/ingest/fresh_content.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"
#include "smtp/server/message_sink.hpp"

namespace sinetti::ingest {

// What a transaction classifies against: swapped as a whole on reload.
struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const routing::RoutingTable> routing;
  std::shared_ptr<const i18n::Templates> templates;
};
// Compiles the routing and loads the templates of a validated configuration.
Result<std::shared_ptr<const Snapshot>> make_snapshot(std::shared_ptr<const config::Config> config);

struct IngestOptions {
  std::size_t memory_limit = 1 << 20;  // messages up to this size are held (sealed) in memory until the end
  std::size_t flush_bytes = 1 << 20;   // larger ones go to the store in batches of about this many bytes
  // Where the plaintext of what a commit queued goes for its first delivery (null: nowhere).
  std::shared_ptr<FreshContent> fresh;
};

// Sink factory for the SMTP listeners and a Service so that reloads reach it and shutdown waits for
// commits in flight.
class Ingest final : public smtp::MessageSinkFactory, public server::Service {
 public:
  // Everything referenced must outlive the Ingest. The rings may be seal-only; each message is
  // wrapped to the active KEK of the ring current when it is committed. `queued` is called (from the
  // coroutine's strand) after every commit that queued something, to wake the queue.
  Ingest(std::shared_ptr<const Snapshot> snapshot, store::Store& store, const crypto::KeyRingHolder& rings,
         server::WorkerPool& workers, const Clock& clock, const log::Logger& logger, std::function<void()> queued,
         IngestOptions options = {});
  ~Ingest() override;

  std::unique_ptr<smtp::MessageSink> open(const smtp::SessionInfo& session) override;

  std::string_view name() const override { return "ingest"; }
  std::optional<Error> start() override { return std::nullopt; }
  void reconfigure(const std::shared_ptr<const config::Config>& config) override;
  void drain() override {}
  std::size_t active() const override;
  void cancel() override {}

  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_.load(); }

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
};

}  // namespace sinetti::ingest
