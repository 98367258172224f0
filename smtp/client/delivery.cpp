#include "smtp/client/delivery.hpp"

namespace sinetti::smtp::client {

asio::awaitable<Result<std::optional<std::string_view>>> StringBodySource::next() {
  if (offset_ >= body_.size()) co_return std::optional<std::string_view>{};
  const std::string_view piece = std::string_view(body_).substr(offset_, piece_);
  offset_ += piece.size();
  co_return std::optional<std::string_view>{piece};
}

}  // namespace sinetti::smtp::client
