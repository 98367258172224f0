// MessageSink: where the SMTP adapter hands a message, one sink per transaction. The layer above
// implements it (seal into the store, classify, queue); the adapter knows nothing of storage. All
// calls come from the session's strand, one at a time, in this order:
//   begin → data* → end      the message arrived intact
//   begin → data* → abort    it was refused while arriving (size, bare LF, loop), or the session
//                            ended (client gone, timeout, shutdown) before the final "."
// A 2xx from end() means the message is durably committed (RFC 5321 §6.1); anything else loses
// nothing the client does not know about.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "smtp/esmtp/server_session.hpp"
#include "smtp/server/asio.hpp"
#include "smtp/server/session_info.hpp"

namespace sinetti::smtp {

class MessageSink {
 public:
  virtual ~MessageSink() = default;

  // DATA has been answered with 354 (the envelope is complete). nullopt: go on. A reply: the message
  // is refused with it after the final "." (its bytes are read and dropped; data() is not called).
  virtual asio::awaitable<std::optional<Reply>> begin(const SessionInfo& session, const Envelope& envelope) = 0;

  // The next piece of the message: dot-unstuffed, CRLF line ends, at most about 64 KiB. `piece` is
  // valid until the call completes. Nothing more is read from the client until it does (backpressure).
  virtual asio::awaitable<void> data(std::string_view piece) = 0;

  // The final "." arrived: commit durably, then decide — "250 2.0.0 Ok: queued as ID", a 4xx or a 5xx.
  virtual asio::awaitable<Reply> end() = 0;

  // The transaction is over without end(): discard what was received. Not awaited.
  virtual void abort() noexcept = 0;
};

class MessageSinkFactory {
 public:
  virtual ~MessageSinkFactory() = default;
  // A sink for the next transaction of `session`; called on the session's strand when DATA begins.
  virtual std::unique_ptr<MessageSink> open(const SessionInfo& session) = 0;
};

}  // namespace sinetti::smtp
