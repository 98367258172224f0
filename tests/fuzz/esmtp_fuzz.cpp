// Fuzz target: the sans-IO ESMTP server session (smtp/esmtp/) on arbitrary client bytes, fed in two
// pieces at a split chosen by the first byte, with the host's decisions answered as an adapter would.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/esmtp/server_session.hpp"

namespace {

struct Host : sinetti::smtp::SessionHandler {
  std::optional<sinetti::smtp::Reply> check_sender(std::string_view) override { return std::nullopt; }
  std::optional<sinetti::smtp::Reply> check_recipient(std::string_view a) override {
    if (a.ends_with("@example.fi")) return std::nullopt;
    return sinetti::smtp::Reply{554, "5.7.1", {"Relay access denied"}};
  }
};

void drain(sinetti::smtp::ServerSession& s) {
  using Kind = sinetti::smtp::Event::Kind;
  for (int round = 0; round < 8; ++round) {
    (void)s.take_output();
    bool again = false;
    for (const auto& e : s.take_events()) {
      if (e.kind == Kind::start_tls) s.tls_started();
      if (e.kind == Kind::auth) s.auth_result(e.secret == "secret");
      if (e.kind == Kind::data_end) s.data_result(sinetti::smtp::Reply{250, "2.0.0", {"Ok"}});
      again = true;
    }
    if (!again) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Host host;
  sinetti::smtp::SessionPolicy policy;
  policy.tls_available = (data[0] & 1) != 0;
  policy.auth_available = (data[0] & 2) != 0;
  sinetti::smtp::SessionLimits limits;
  limits.max_message_size = 1 << 16;
  sinetti::smtp::ServerSession session(policy, limits, host);
  session.greet();
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  session.feed(input.substr(0, cut));
  drain(session);
  session.feed(input.substr(cut));
  drain(session);
  session.timeout();
  drain(session);
  return 0;
}
