// The admin listener: plain HTTP/1.1 (Boost.Beast) for /healthz, /readyz and /metrics. Untrusted
// input: whatever reaches the admin address; requests are capped (8 KiB of header, no body), every
// read and write has a deadline, and connections are limited in number. The request handling itself
// is handle_admin (admin_handler.hpp); this file is only the glue between socket and handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include "config/config.hpp"
#include "gateway/log.hpp"
#include "gateway/server/admin_handler.hpp"
#include "gateway/server/asio.hpp"
#include "gateway/server/service.hpp"

namespace sinetti::server {

class AdminListener final : public Service {
 public:
  struct Options {
    std::size_t header_limit = 8 * 1024;          // request line + header fields; beyond: 431
    std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};   // per request, idle included
    std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};  // per response
    std::size_t max_connections = 64;             // more are closed at once
  };
  // Called for each request, on the connection's strand, from any I/O thread.
  using StateProvider = std::function<AdminState()>;

  AdminListener(asio::io_context& io, config::ListenAddress address, StateProvider state, const log::Logger& logger,
                Options options);
  ~AdminListener() override;

  std::string_view name() const override { return "admin"; }
  std::optional<Error> start() override;
  void drain() override;
  std::size_t active() const override;
  void cancel() override;

  // The bound address (the kernel's choice when the configured port is 0); after start().
  asio::ip::tcp::endpoint local_endpoint() const;

  struct Shared;  // what the accept loop and the connections share; outlives this object if need be

 private:
  std::shared_ptr<Shared> shared_;
};

// "127.0.0.1:9090", "[::1]:9090"
std::string format_endpoint(const asio::ip::tcp::endpoint& endpoint);

// The address to bind for a configured host ("localhost" is 127.0.0.1).
Result<asio::ip::address> bind_address(const config::ListenAddress& address);

}  // namespace sinetti::server
