// Fuzz target: the outbound client's reply parser (smtp/client/reply.hpp) on arbitrary server bytes
// split at a point chosen by the first byte, then the whole client session (smtp/client/session.hpp)
// on the same bytes, answering TLS and body requests as a transport would. Small caps make the
// limit paths reachable.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtp/client/reply.hpp"
#include "smtp/client/session.hpp"

namespace {

using namespace sinetti::smtp::client;

void parse_replies(std::string_view input, std::size_t cut, const ReplyLimits& limits) {
  ReplyParser parser(limits);
  for (std::string_view piece : {input.substr(0, cut), input.substr(cut)}) {
    for (;;) {
      const auto status = parser.parse(piece);
      if (status != ReplyParser::Status::reply) break;
      const ServerReply reply = parser.take_reply();
      (void)reply.diagnostic();
      (void)reply.status();
      (void)parse_ehlo(reply);
    }
  }
}

void run_session(std::string_view input, std::size_t cut, std::uint8_t flags, const ReplyLimits& limits) {
  SessionOptions options;
  options.tls = (flags & 1) ? TlsPolicy::require : (flags & 2) ? TlsPolicy::opportunistic : TlsPolicy::none;
  if (flags & 4) options.credentials = Credentials{"alice", "secret"};
  options.peer_is_loopback = (flags & 8) != 0;
  options.use_pipelining = (flags & 16) == 0;
  options.max_pipelined = 2;
  options.reply_limits = limits;
  Envelope envelope;
  envelope.sender = (flags & 32) ? "" : "sender@example.fi";
  envelope.recipients = {"a@example.com", "b@example.com", "c@example.com"};
  envelope.size = 1000;
  ClientSession session(options, envelope);
  for (std::string_view piece : {input.substr(0, cut), input.substr(cut)}) {
    for (int round = 0; round < 8 && session.want() != ClientSession::Want::done; ++round) {
      (void)session.take_output();
      if (session.want() == ClientSession::Want::tls_handshake) {
        session.tls_started((flags & 64) == 0);
      } else if (session.want() == ClientSession::Want::body) {
        session.body("Subject: x\n\n.dot\r\nline\r");
        session.end_body();
      } else {
        session.feed(piece);
        break;
      }
    }
  }
  if (session.want() != ClientSession::Want::done) session.timed_out();
  (void)session.result();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  ReplyLimits limits;
  limits.max_line = 128;
  limits.max_lines = 16;
  parse_replies(input, cut, limits);
  run_session(input, cut, flags, limits);
  return 0;
}
