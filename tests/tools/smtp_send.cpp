// sinetti_smtp_send: drives the outbound SMTP client (or the Maildir transport) once from the
// command line and prints the DeliveryResult as JSON, for the end-to-end tests
// (tests/e2e/smtp_client_test.py) and for trying a relay by hand. Not installed.
//
//   sinetti_smtp_send --host 127.0.0.1 --port 2525 --from a@example.fi --to b@example.com
//                     [--to ...] [--tls require|opportunistic|none] [--ca-file PEM]
//                     [--user NAME --password-env VAR] [--body FILE] [--piece-size N] [--size N]
//                     [--no-pipelining] [--helo NAME] [--timeout SECONDS] [--connect-timeout SECONDS]
//   sinetti_smtp_send ... --each b@example.com --each c@example.com [--reuse-idle SECONDS] [--pause SECONDS]
//                     one message per --each address, in turn, through one transport; with
//                     --reuse-idle the connection is kept that long between them (default: a new
//                     connection per message); prints a JSON array of results
//   sinetti_smtp_send --maildir DIR --from a@example.fi --to b@example.com [--body FILE]
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "sinetti/clock.hpp"
#include "smtp/asio.hpp"
#include "smtp/client/maildir.hpp"
#include "smtp/client/smtp_transport.hpp"

using namespace sinetti::smtp::client;
namespace asio = boost::asio;

namespace {

// Streams a file in pieces of a fixed size (the queue streams decrypted chunks the same way).
class FileBody final : public BodySource {
 public:
  FileBody(const std::string& path, std::size_t piece) : in_(path, std::ios::binary), buf_(piece == 0 ? 1 : piece) {
    if (!in_) failed_ = true;
  }
  asio::awaitable<sinetti::Result<std::optional<std::string_view>>> next() override {
    if (failed_) co_return sinetti::make_error("cannot read the body file");
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    const auto n = static_cast<std::size_t>(in_.gcount());
    if (n == 0) co_return std::optional<std::string_view>{};
    co_return std::optional<std::string_view>{std::string_view(buf_.data(), n)};
  }

 private:
  std::ifstream in_;
  std::vector<char> buf_;
  bool failed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Deliver one message with Sinetti's SMTP client and print the outcome as JSON"};
  SmtpRelay relay;
  std::string tls = "none", maildir, body_file, user, password_env, from;
  std::vector<std::string> to, each;
  double reuse_idle = 0, pause = 0;
  std::size_t piece = 64 * 1024;
  std::optional<std::uint64_t> size;
  bool no_pipelining = false;
  double timeout = 0, connect_timeout = 0;
  app.add_option("--host", relay.host, "Relay host");
  app.add_option("--port", relay.port, "Relay port");
  app.add_option("--tls", tls, "require | opportunistic | none")->check(CLI::IsMember({"require", "opportunistic", "none"}));
  app.add_option("--ca-file", relay.ca_file, "CA bundle for tls require");
  app.add_option("--user", user, "AUTH user name");
  app.add_option("--password-env", password_env, "Environment variable holding the AUTH password");
  app.add_option("--from", from, "Envelope sender ('' for <>)")->required();
  auto* to_option = app.add_option("--to", to, "Envelope recipient (repeatable)");
  auto* each_option = app.add_option("--each", each, "One message to this recipient, in turn (repeatable)");
  to_option->excludes(each_option);
  app.add_option("--reuse-idle", reuse_idle, "Keep the connection open this long between messages, seconds");
  app.add_option("--pause", pause, "Wait this long between messages, seconds");
  app.add_option("--body", body_file, "Message file (default: a short test message)");
  app.add_option("--piece-size", piece, "Bytes per body piece");
  app.add_option("--size", size, "Declared message size (SIZE=)");
  app.add_flag("--no-pipelining", no_pipelining, "Do not pipeline even if offered");
  app.add_option("--helo", relay.helo_name, "EHLO name");
  app.add_option("--timeout", timeout, "Every read/write deadline, seconds (default RFC 5321)");
  app.add_option("--connect-timeout", connect_timeout, "Connect deadline, seconds");
  app.add_option("--maildir", maildir, "Deliver into this Maildir instead of SMTP");
  CLI11_PARSE(app, argc, argv);
  if (to.empty() && each.empty()) {
    std::cerr << "sinetti_smtp_send: give --to or --each\n";
    return 2;
  }
  if (reuse_idle > 0) relay.reuse.idle = std::chrono::milliseconds(static_cast<long long>(reuse_idle * 1000));
  else relay.reuse.messages = 1;

  relay.tls = tls == "require" ? TlsPolicy::require : tls == "opportunistic" ? TlsPolicy::opportunistic : TlsPolicy::none;
  relay.pipelining = !no_pipelining;
  if (!user.empty()) {
    const char* pw = password_env.empty() ? nullptr : std::getenv(password_env.c_str());
    relay.credentials = Credentials{user, pw ? pw : ""};
  }
  if (timeout > 0) {
    const auto d = std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
    relay.timeouts.greeting = relay.timeouts.command = relay.timeouts.data_init = relay.timeouts.data_block =
        relay.timeouts.data_end = d;
  }
  if (connect_timeout > 0) relay.timeouts.connect = std::chrono::milliseconds(static_cast<long long>(connect_timeout * 1000));

  std::vector<Envelope> envelopes;
  const auto add = [&](std::vector<std::string> rcpts) {
    Envelope e;
    e.sender = from;
    e.recipients = std::move(rcpts);
    e.size = size;
    envelopes.push_back(std::move(e));
  };
  if (each.empty()) add(to);
  for (const auto& rcpt : each) add({rcpt});
  const auto make_body = [&]() -> std::unique_ptr<BodySource> {
    if (body_file.empty()) {
      return std::make_unique<StringBodySource>("Subject: test from sinetti_smtp_send\r\n\r\nHello.\r\n", piece);
    }
    return std::make_unique<FileBody>(body_file, piece);
  };

  sinetti::SystemClock clock;
  std::unique_ptr<Transport> transport;
  if (!maildir.empty()) {
    transport = std::make_unique<MaildirTransport>(maildir, clock);
  } else {
    auto smtp = SmtpTransport::create(relay);
    if (!smtp) {
      std::cerr << "sinetti_smtp_send: " << smtp.error().message << "\n";
      return 1;
    }
    transport = std::move(*smtp);
  }

  asio::io_context io;
  std::vector<DeliveryResult> results;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < envelopes.size(); ++i) {
          if (i > 0 && pause > 0) {
            asio::steady_timer timer(io, std::chrono::milliseconds(static_cast<long long>(pause * 1000)));
            co_await timer.async_wait(asio::use_awaitable);
          }
          auto body = make_body();
          results.push_back(co_await transport->deliver(envelopes[i], *body));
        }
        transport->close_idle();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();

  const auto as_json = [](const DeliveryResult& result) {
    nlohmann::json out;
    out["remote"] = result.remote;
    out["tls"] = result.tls;
    out["recipients"] = nlohmann::json::array();
    for (const auto& r : result.recipients) {
      out["recipients"].push_back({{"recipient", r.recipient},
                                   {"outcome", to_string(r.outcome)},
                                   {"status", r.status},
                                   {"reply_code", r.reply_code},
                                   {"diagnostic", r.diagnostic}});
    }
    return out;
  };
  if (each.empty()) {
    std::cout << as_json(results.at(0)).dump() << "\n";
  } else {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : results) all.push_back(as_json(r));
    std::cout << all.dump() << "\n";
  }
  return 0;
}
