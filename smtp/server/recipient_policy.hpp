// RecipientPolicy: which senders and recipients a listener accepts, answered at MAIL and RCPT time.
// Supplied by the layer above (it knows the configuration's domains and teams). Called on the
// session's strand, from many sessions at once: implementations are immutable or thread-safe, and
// cheap (no I/O).
#pragma once

#include <optional>
#include <string_view>

#include "smtp/esmtp/server_session.hpp"
#include "smtp/server/session_info.hpp"

namespace sinetti::smtp {

class RecipientPolicy {
 public:
  virtual ~RecipientPolicy() = default;
  // nullopt accepts (250); a reply refuses. `address` is syntax-checked, "" for the null sender.
  virtual std::optional<Reply> check_sender(const SessionInfo& session, std::string_view address) const = 0;
  virtual std::optional<Reply> check_recipient(const SessionInfo& session, std::string_view address) const = 0;
};

}  // namespace sinetti::smtp
