// DeliveryQueue: the Service that empties the durable delivery queue (DESIGN "Durability"; RFC 5321
// §4.5.4.1, §6.1). It leases due entries from the store, opens each message's sealed content one
// chunk at a time (the only place besides the portal that needs the key ring's private half), hands
// it to the transport — the organisation's relay over SMTP or a Maildir — and ends the lease:
// delivered; deferred with exponential backoff (delivery.retry); or failed (5xx, or older than
// delivery.lifetime), which sends one DSN to the sender (never to <>, never for a DSN). A spool or
// notification copy is shredded once its last delivery is done. A process that died mid-delivery
// leaves a lease that the next start on the same host frees (or that expires). Untrusted input:
// replies of the remote server (through the SMTP client).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "crypto/key_ring_holder.hpp"
#include "gateway/ingest/fresh_content.hpp"
#include "gateway/log.hpp"
#include "gateway/server/asio.hpp"
#include "gateway/server/service.hpp"
#include "gateway/server/worker_pool.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"
#include "smtp/client/delivery.hpp"

namespace sinetti::queue {

namespace asio = server::asio;

struct QueueOptions {
  std::chrono::milliseconds poll{std::chrono::seconds(1)};    // look for due entries at least this often
  std::chrono::milliseconds lease{std::chrono::minutes(30)};  // longer than any delivery can take
  // The transport to use instead of the configured one (tests); null: from delivery.*.
  std::function<std::unique_ptr<smtp::client::Transport>(const config::Config&)> make_transport;
  // Plaintext the ingest kept for a first attempt (ingest/fresh_content.hpp); null: always the store.
  std::shared_ptr<ingest::FreshContent> fresh;
};

// The delay before attempt `attempts + 1`: initial × 2^(attempts-1), at most max.
std::chrono::milliseconds backoff(const config::Delivery& delivery, std::uint32_t attempts);

class DeliveryQueue final : public server::Service {
 public:
  // The rings must be able to open (Access::open); each delivery uses the ring current when it
  // starts. Everything referenced must outlive the queue.
  DeliveryQueue(asio::io_context& io, server::WorkerPool& workers, store::Store& store, const crypto::KeyRingHolder& rings,
                std::shared_ptr<const config::Config> config, const Clock& clock, const log::Logger& logger,
                QueueOptions options = {});
  ~DeliveryQueue() override;

  std::string_view name() const override { return "queue"; }
  std::optional<Error> start() override;
  void reconfigure(const std::shared_ptr<const config::Config>& config) override;
  void drain() override;
  std::size_t active() const override;
  void cancel() override;

  // Something was queued: look now rather than at the next poll. Thread-safe.
  void wake();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sinetti::queue
