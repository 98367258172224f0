// The message sink `serve` uses until the store-backed ingest lands: it takes every message's bytes
// and then refuses it with "451 4.3.0 Storage not available yet". Temporary and honest — it never
// says 250, so nothing is lost: the sending server keeps the message and retries later.
#pragma once

#include <memory>

#include "smtp/server/message_sink.hpp"

namespace sinetti::server {

class UnavailableSinks final : public smtp::MessageSinkFactory {
 public:
  std::unique_ptr<smtp::MessageSink> open(const smtp::SessionInfo& session) override;
};

}  // namespace sinetti::server
