#include "sms/make_sender.hpp"

#include "sms/file_sender.hpp"

namespace sinetti::sms {

Result<std::unique_ptr<SmsSender>> make_sms_sender(const config::Sms& sms, const Clock& clock, HttpSmsOptions options) {
  switch (sms.driver) {
    case config::SmsDriver::file: {
      auto sender = FileSmsSender::open(sms.file_path, clock);
      if (!sender) return sender.error();
      return std::unique_ptr<SmsSender>(std::move(*sender));
    }
    case config::SmsDriver::http: {
      if (!sms.http) return make_error("sms: driver http needs an 'http' section");
      auto sender = HttpSmsSender::create(*sms.http, sms.sender, std::move(options));
      if (!sender) return sender.error();
      return std::unique_ptr<SmsSender>(std::move(*sender));
    }
  }
  return make_error("sms: unknown driver");
}

Result<std::unique_ptr<SmsSender>> make_sms_sender(const config::Sms& sms) {
  static const SystemClock clock;
  return make_sms_sender(sms, clock);
}

}  // namespace sinetti::sms
