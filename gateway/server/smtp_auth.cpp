#include "gateway/server/smtp_auth.hpp"

namespace sinetti::server {

boost::asio::awaitable<bool> UsersFileAuthenticator::verify(std::string user, std::string password) {
  auto users = users_;
  const bool ok = co_await workers_.run_blocking([&] { return users->verify(user, password); });
  volatile char* p = password.data();  // not left in freed memory longer than needed
  for (std::size_t i = 0; i < password.size(); ++i) p[i] = 0;
  co_return ok;
}

}  // namespace sinetti::server
