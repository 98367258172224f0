#include "gateway/server/unavailable_sink.hpp"

namespace sinetti::server {
namespace {

class UnavailableSink final : public smtp::MessageSink {
 public:
  boost::asio::awaitable<std::optional<smtp::Reply>> begin(const smtp::SessionInfo&, const smtp::Envelope&) override {
    co_return std::nullopt;
  }
  boost::asio::awaitable<void> data(std::string_view) override { co_return; }
  boost::asio::awaitable<smtp::Reply> end() override { co_return smtp::Reply{451, "4.3.0", {"Storage not available yet"}}; }
  void abort() noexcept override {}
};

}  // namespace

std::unique_ptr<smtp::MessageSink> UnavailableSinks::open(const smtp::SessionInfo&) {
  return std::make_unique<UnavailableSink>();
}

}  // namespace sinetti::server
