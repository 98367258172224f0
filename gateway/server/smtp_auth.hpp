// AUTH for submission listeners: the users file (listeners[].auth.users_file, argon2id hashes,
// crypto/password.hpp), checked on the worker pool so hashing never blocks an I/O thread.
#pragma once

#include <memory>

#include "crypto/password.hpp"
#include "gateway/server/worker_pool.hpp"
#include "smtp/server/authenticator.hpp"

namespace sinetti::server {

class UsersFileAuthenticator final : public smtp::Authenticator {
 public:
  UsersFileAuthenticator(WorkerPool& workers, std::shared_ptr<const crypto::PasswordFile> users)
      : workers_(workers), users_(std::move(users)) {}
  boost::asio::awaitable<bool> verify(std::string user, std::string password) override;

 private:
  WorkerPool& workers_;
  std::shared_ptr<const crypto::PasswordFile> users_;
};

}  // namespace sinetti::server
