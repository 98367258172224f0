// Authenticator: checks AUTH PLAIN/LOGIN credentials for the SMTP adapter. Password hashing is slow
// by design, so implementations run it off the I/O threads and resume on the caller's executor.
#pragma once

#include <string>

#include "smtp/server/asio.hpp"

namespace sinetti::smtp {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Whether `password` is `user`'s. Never logs the password.
  virtual asio::awaitable<bool> verify(std::string user, std::string password) = 0;
};

}  // namespace sinetti::smtp
