// Builds the SmsSender that sms.driver names: FileSmsSender (file) or HttpSmsSender (http).
#pragma once

#include <memory>

#include "config/config.hpp"
#include "sinetti/clock.hpp"
#include "sinetti/result.hpp"
#include "sms/http_sender.hpp"
#include "sms/sender.hpp"

namespace sinetti::sms {

// The sender for this configuration, or why there cannot be one (the file cannot be opened, the
// http settings do not validate, a secret cannot be read). `clock` stamps file lines and must
// outlive the sender; `options` tune the http driver's retries (tests).
Result<std::unique_ptr<SmsSender>> make_sms_sender(const config::Sms& sms, const Clock& clock,
                                                   HttpSmsOptions options = {});
// The same with the system clock.
Result<std::unique_ptr<SmsSender>> make_sms_sender(const config::Sms& sms);

}  // namespace sinetti::sms
