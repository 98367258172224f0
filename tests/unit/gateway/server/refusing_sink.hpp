// A fake message sink for the listener tests: takes every message's bytes and answers 451, so the
// tests exercise the listener without a store.
#pragma once

#include <memory>

#include "smtp/server/message_sink.hpp"

namespace sinetti::server::test {

class RefusingSinks final : public smtp::MessageSinkFactory {
 public:
  std::unique_ptr<smtp::MessageSink> open(const smtp::SessionInfo&) override {
    struct Sink final : smtp::MessageSink {
      boost::asio::awaitable<std::optional<smtp::Reply>> begin(const smtp::SessionInfo&, const smtp::Envelope&) override {
        co_return std::nullopt;
      }
      boost::asio::awaitable<void> data(std::string_view) override { co_return; }
      boost::asio::awaitable<smtp::Reply> end() override { co_return smtp::Reply{451, "4.3.0", {"Storage not available yet"}}; }
      void abort() noexcept override {}
    };
    return std::make_unique<Sink>();
  }
};

}  // namespace sinetti::server::test
