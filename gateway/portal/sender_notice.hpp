// Notices to the staff address that sent a protected message (the message's envelope sender):
// the recipient says the PIN did not arrive, or the message locked after too many wrong PINs. A
// small mail from the `sender-notice` template, sealed and queued for delivery in one commit like
// every notification (envelope sender <>, so a failure never bounces back into a loop). It names
// the message id, the recipient's address and the phone's last two digits — never content.
#pragma once

#include <string>

#include "gateway/portal/handler.hpp"

namespace sinetti::portal {

enum class SenderNotice { pin_missing, locked };

// Queues the notice; does nothing (and succeeds) for a message sent by the null sender.
store::Status queue_sender_notice(const PortalContext& context, const store::MessageMeta& message,
                                  const store::ReadToken& link, SenderNotice notice, const std::string& phone_tail);

}  // namespace sinetti::portal
