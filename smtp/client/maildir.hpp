// MaildirTransport: the development transport `delivery.transport: maildir:PATH`. Writes each
// message into tmp/ under a unique name (time.pid_random.host), fsyncs the file, renames it into
// new/ and fsyncs new/ before reporting it delivered (the Maildir convention, cr.yp.to/proto/
// maildir.html); creates PATH and its tmp/, new/, cur/ (0700) when missing. The body is streamed,
// never held whole. Prepends Return-Path and one Delivered-To per recipient, as a local delivery
// agent does; the message bytes follow unchanged (line ends as given). One file for all recipients;
// an address with a line break or control character fails (5.1.3) rather than reach a header.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "sinetti/clock.hpp"
#include "smtp/client/delivery.hpp"

namespace sinetti::smtp::client {

// Runs blocking work (file writes, fsync, rename) off the I/O threads and resumes the caller when
// it is done: the gateway passes its WorkerPool's run_blocking. Empty: inline (tools and tests).
using BlockingRunner = std::function<asio::awaitable<void>(std::function<void()>)>;

class MaildirTransport final : public Transport {
 public:
  // `clock` must outlive the transport.
  MaildirTransport(std::filesystem::path dir, const Clock& clock, BlockingRunner run_blocking = {});

  // Every recipient gets the same outcome: delivered once new/NAME is durable, else deferred
  // (4.3.0, or 4.3.1 when the disk or quota is full) with the failing step and errno text.
  asio::awaitable<DeliveryResult> deliver(const Envelope& envelope, BodySource& body) override;

  const std::filesystem::path& dir() const { return dir_; }

  static constexpr std::size_t write_batch = 256 * 1024;  // bytes gathered before each write

 private:
  asio::awaitable<DeliveryResult> deliver_on_strand(const Envelope& envelope, BodySource& body);
  asio::awaitable<void> blocking(std::function<void()> work);

  std::filesystem::path dir_;
  const Clock& clock_;
  BlockingRunner run_blocking_;
};

}  // namespace sinetti::smtp::client
