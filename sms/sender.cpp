#include "sms/sender.hpp"

namespace sinetti::sms {

std::optional<SmsFailed> check_message(const SmsMessage& message) {
  const std::string& to = message.to;
  bool e164 = to.size() >= 9 && to.size() <= 16 && to[0] == '+' && to[1] != '0';
  for (std::size_t i = 1; e164 && i < to.size(); ++i) e164 = to[i] >= '0' && to[i] <= '9';
  if (!e164) return SmsFailed{"recipient is not an E.164 number", false};
  if (message.text.empty()) return SmsFailed{"empty SMS text", false};
  if (message.text.size() > max_sms_text_bytes) {
    return SmsFailed{"SMS text longer than " + std::to_string(max_sms_text_bytes) + " bytes", false};
  }
  if (message.ref.size() > max_sms_ref_bytes) {
    return SmsFailed{"SMS reference longer than " + std::to_string(max_sms_ref_bytes) + " bytes", false};
  }
  return std::nullopt;
}

}  // namespace sinetti::sms
