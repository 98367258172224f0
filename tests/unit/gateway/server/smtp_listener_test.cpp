// SmtpListener as the gateway runs it: real sockets on 127.0.0.1:0, the role policies, AUTH against a
// users file made here (argon2id through crypto/password) and checked on the worker pool, the
// placeholder sink's 451, the JSON log lines and metrics, reload of settings and certificates.
#include <boost/test/unit_test.hpp>

#include <regex>

#include "config/config.hpp"
#include "crypto/password.hpp"
#include "crypto/tls_files.hpp"
#include "gateway/server/smtp_listener.hpp"
#include "gateway/server/smtp_metrics.hpp"
#include "refusing_sink.hpp"
#include "gateway/server/worker_pool.hpp"
#include "support.hpp"
#include "tests/unit/smtp/server/support.hpp"

using namespace sinetti;
using namespace sinetti::server;
using sinetti::server::test::CapturedLog;
using sinetti::server::test::TempDir;
using sinetti::smtp::test::Client;
using sinetti::smtp::test::base64;
using sinetti::smtp::test::eventually;
using sinetti::smtp::test::plain_auth;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string config_text(const fs::path& dir, const std::string& inbound_domains = "[tyollisyys.example.fi]") {
  const auto d = dir.string();
  return "instance: {name: Test, public_url: \"https://gw.example.fi\", data_dir: " + d + "/var}\n"
         "listeners:\n"
         "  - name: inbound\n"
         "    address: \"127.0.0.1:0\"\n"
         "    role: inbound\n"
         "    domains: " + inbound_domains + "\n"
         "    tls: {cert_file: " + d + "/cert.pem, key_file: " + d + "/key.pem}\n"
         "  - name: submission\n"
         "    address: \"127.0.0.1:0\"\n"
         "    role: submission\n"
         "    tls: {cert_file: " + d + "/cert.pem, key_file: " + d + "/key.pem}\n"
         "    auth: {users_file: " + d + "/users}\n"
         "portal: {address: \"127.0.0.1:0\", tls: {cert_file: " + d + "/cert.pem, key_file: " + d + "/key.pem}}\n"
         "delivery: {transport: \"maildir:" + d + "/mail\"}\n"
         "teams:\n"
         "  - {id: neuvonta, name: {fi: N, sv: N, en: N}, address: neuvonta@tyollisyys.example.fi, mailbox: n@intra.example.fi}\n"
         "routing:\n"
         "  rules:\n"
         "    - {name: rest, when: {}, action: {reject: {code: 550, text: \"5.1.1 No\"}}}\n";
}

std::shared_ptr<const config::Config> load(const std::string& text) {
  auto r = config::load_string(text, "test.yaml", config::LoadOptions{false});
  std::string errors;
  for (const auto& e : r.errors) errors += e.str() + "\n";
  BOOST_REQUIRE_MESSAGE(r.config, errors);
  return r.config;
}

// Two listeners from one configuration, on two I/O threads and a worker pool, with a captured log.
struct Gateway {
  explicit Gateway(SmtpListener::Options options = {}) : workers(2) {
    auto made = crypto::ensure_self_signed(tmp.path / "cert.pem", tmp.path / "key.pem", "localhost", {});
    BOOST_REQUIRE(made);
    auto hash = crypto::hash_password(password);
    BOOST_REQUIRE(hash);
    test::write_file(tmp.path / "users", "# test users\nalice:" + *hash + "\n");
    config = load(config_text(tmp.path));
    metrics = std::make_shared<SmtpMetrics>(std::vector<std::string>{"inbound", "submission"});
    for (const char* name : {"inbound", "submission"}) {
      listeners.push_back(std::make_unique<SmtpListener>(io, workers, config, name, std::make_shared<test::RefusingSinks>(),
                                                         metrics, log.logger(), options));
      const auto failed = listeners.back()->start();
      BOOST_REQUIRE_MESSAGE(!failed, (failed ? failed->message : ""));
    }
    work.emplace(io.get_executor());
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Gateway() {
    for (auto& l : listeners) l->cancel();
    BOOST_CHECK(eventually([this] { return listeners[0]->active() + listeners[1]->active() == 0; }));
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    workers.stop();
    listeners.clear();
  }
  std::uint16_t port(int i) const { return listeners[static_cast<std::size_t>(i)]->local_endpoint().port(); }

  TempDir tmp;
  const std::string password = "kissa-istuu-puussa";
  asio::io_context io;
  WorkerPool workers;
  CapturedLog log;
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<SmtpMetrics> metrics;
  std::vector<std::unique_ptr<SmtpListener>> listeners;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

std::string field(const std::string& line, const std::string& key) {
  const std::regex re("\"" + key + "\":\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(line, m, re) ? m[1].str() : "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_listener_service)

BOOST_AUTO_TEST_CASE(inbound_refuses_relaying_and_defers_at_the_end_of_data) {
  Gateway gw;
  Client c(gw.port(0));
  BOOST_TEST(c.reply() == "220 gw.example.fi ESMTP Sinetti\r\n");
  BOOST_TEST(c.command("EHLO client.example").find("STARTTLS") != std::string::npos);
  BOOST_TEST(c.command("MAIL FROM:<someone@example.com>") == "250 2.1.0 Ok\r\n");
  BOOST_TEST(c.command("RCPT TO:<victim@gmail.com>") == "550 5.7.1 Relaying denied\r\n");
  BOOST_TEST(c.command("RCPT TO:<neuvonta@tyollisyys.example.fi>") == "250 2.1.5 Ok\r\n");
  BOOST_TEST(c.command("DATA").starts_with("354 "));
  BOOST_TEST(c.command("Subject: hello\r\n\r\nsalainen sisalto\r\n.") == "451 4.3.0 Storage not available yet\r\n");
  BOOST_TEST(c.command("QUIT") == "221 2.0.0 Bye\r\n");
  BOOST_REQUIRE(eventually([&] { return !gw.log.events("smtp_session_ended").empty(); }));

  const auto started = gw.log.events("smtp_session_started");
  BOOST_REQUIRE_EQUAL(started.size(), 1u);
  const std::string id = field(started[0], "session");
  BOOST_TEST(id.size() == 12u);
  for (const char* event : {"smtp_message", "smtp_session_ended"}) {
    const auto lines = gw.log.events(event);
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    BOOST_TEST(field(lines[0], "session") == id);
  }
  BOOST_TEST(field(gw.log.events("smtp_message")[0], "result") == "deferred");
  BOOST_TEST(gw.log.all().find("salainen") == std::string::npos);  // no content in the log
  BOOST_TEST(gw.log.all().find("hello") == std::string::npos);

  const auto metrics = gw.metrics->render();
  BOOST_TEST(metrics.find("sinetti_smtp_sessions_total{listener=\"inbound\"} 1\n") != std::string::npos);
  BOOST_TEST(metrics.find("sinetti_messages_rejected_total{listener=\"inbound\",reason=\"temporary\"} 1\n") != std::string::npos);
  BOOST_TEST(metrics.find("sinetti_messages_received_total{listener=\"inbound\"} 0\n") != std::string::npos);
  BOOST_TEST(metrics.find("sinetti_smtp_sessions_total{listener=\"submission\"} 0\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(submission_auth_over_tls_with_the_users_file) {
  Gateway gw;
  Client c(gw.port(1));
  BOOST_TEST(c.reply().starts_with("220 "));
  BOOST_TEST(c.command("EHLO staff.example").find("AUTH") == std::string::npos);
  BOOST_TEST(c.command("AUTH PLAIN " + plain_auth("alice", gw.password)) == "502 5.5.1 Error: authentication not enabled\r\n");
  BOOST_TEST(c.command("MAIL FROM:<alice@tyollisyys.example.fi>") == "530 5.7.0 Authentication required\r\n");
  BOOST_TEST(c.command("STARTTLS").starts_with("220 "));
  BOOST_REQUIRE(c.start_tls());
  BOOST_TEST(c.command("EHLO staff.example").find("250 AUTH PLAIN LOGIN") != std::string::npos);
  BOOST_TEST(c.command("AUTH PLAIN " + plain_auth("alice", "wrong")) == "535 5.7.8 Error: authentication failed\r\n");
  BOOST_TEST(c.command("AUTH PLAIN " + plain_auth("mallory", gw.password)) == "535 5.7.8 Error: authentication failed\r\n");
  BOOST_TEST(c.command("AUTH PLAIN " + plain_auth("alice", gw.password)) == "235 2.7.0 Authentication successful\r\n");
  BOOST_TEST(c.command("MAIL FROM:<alice@tyollisyys.example.fi>") == "250 2.1.0 Ok\r\n");
  BOOST_TEST(c.command("RCPT TO:<client@gmail.com.0401234567.s>") == "250 2.1.5 Ok\r\n");
  BOOST_TEST(c.command("DATA").starts_with("354 "));
  BOOST_TEST(c.command("Subject: [secure] x\r\n\r\nbody\r\n.") == "451 4.3.0 Storage not available yet\r\n");
  BOOST_TEST(c.command("QUIT").starts_with("221 "));
  BOOST_REQUIRE(eventually([&] { return !gw.log.events("smtp_session_ended").empty(); }));

  const auto auths = gw.log.events("smtp_auth");
  BOOST_REQUIRE_EQUAL(auths.size(), 3u);
  BOOST_TEST(field(auths[0], "result") == "failed");
  BOOST_TEST(field(auths[0], "user").empty());
  BOOST_TEST(field(auths[2], "result") == "ok");
  BOOST_TEST(field(auths[2], "user") == "alice");
  const auto all = gw.log.all();
  BOOST_TEST(all.find(gw.password) == std::string::npos);
  BOOST_TEST(all.find(plain_auth("alice", gw.password)) == std::string::npos);
  BOOST_TEST(all.find("0401234567") == std::string::npos);  // recipients (with phone numbers) are not logged
  BOOST_TEST(gw.metrics->render().find("sinetti_smtp_auth_total{listener=\"submission\",result=\"failed\"} 2\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(auth_login_with_the_users_file) {
  Gateway gw;
  Client c(gw.port(1));
  BOOST_TEST(c.reply().starts_with("220 "));
  BOOST_TEST(c.command("EHLO staff.example").starts_with("250-"));
  BOOST_TEST(c.command("STARTTLS").starts_with("220 "));
  BOOST_REQUIRE(c.start_tls());
  BOOST_TEST(c.command("EHLO staff.example").starts_with("250-"));
  BOOST_TEST(c.command("AUTH LOGIN " + base64("alice")) == "334 UGFzc3dvcmQ6\r\n");
  BOOST_TEST(c.command(base64(gw.password)) == "235 2.7.0 Authentication successful\r\n");
}

BOOST_AUTO_TEST_CASE(reconfigure_applies_to_new_sessions) {
  Gateway gw;
  {
    Client c(gw.port(0));
    BOOST_TEST(c.reply().starts_with("220 "));
    BOOST_TEST(c.command("EHLO c").starts_with("250-"));
    BOOST_TEST(c.command("MAIL FROM:<a@example.com>").starts_with("250 "));
    BOOST_TEST(c.command("RCPT TO:<x@uusi.example.fi>") == "550 5.7.1 Relaying denied\r\n");
  }
  const auto next = load(config_text(gw.tmp.path, "[tyollisyys.example.fi, uusi.example.fi]"));
  for (auto& l : gw.listeners) l->reconfigure(next);
  BOOST_TEST(eventually([&] {
    Client c(gw.port(0));
    if (!c.reply().starts_with("220 ") || !c.command("EHLO c").starts_with("250-") ||
        !c.command("MAIL FROM:<a@example.com>").starts_with("250 ")) {
      return false;
    }
    return c.command("RCPT TO:<x@uusi.example.fi>") == "250 2.1.5 Ok\r\n";
  }));
}

BOOST_AUTO_TEST_CASE(changed_certificate_files_are_picked_up) {
  SmtpListener::Options options;
  options.tls_check_interval = 50ms;
  Gateway gw(options);
  // Replace the pair (new files renamed over the old ones).
  const auto fresh = gw.tmp.path / "fresh";
  BOOST_REQUIRE(crypto::ensure_self_signed(fresh / "cert.pem", fresh / "key.pem", "localhost", {}));
  fs::rename(fresh / "cert.pem", gw.tmp.path / "cert.pem");
  fs::rename(fresh / "key.pem", gw.tmp.path / "key.pem");
  BOOST_TEST(eventually([&] { return gw.log.events("tls_reloaded").size() >= 2; }));  // both listeners
  Client c(gw.port(0));
  BOOST_TEST(c.reply().starts_with("220 "));
  BOOST_TEST(c.command("EHLO c").starts_with("250-"));
  BOOST_TEST(c.command("STARTTLS").starts_with("220 "));
  BOOST_TEST(c.start_tls());
}

BOOST_AUTO_TEST_CASE(start_errors_are_one_line) {
  TempDir tmp;
  asio::io_context io;
  WorkerPool workers(1);
  CapturedLog log;
  auto metrics = std::make_shared<SmtpMetrics>(std::vector<std::string>{"inbound", "submission"});
  auto config = load(config_text(tmp.path));  // no certificate files exist
  SmtpListener l(io, workers, config, "inbound", std::make_shared<test::RefusingSinks>(), metrics, log.logger(), {});
  const auto failed = l.start();
  BOOST_REQUIRE(failed);
  BOOST_TEST(failed->message.starts_with("inbound: " + (tmp.path / "cert.pem").string() + ": cannot read the certificate chain"));
  BOOST_TEST(failed->message.find('\n') == std::string::npos);

  BOOST_REQUIRE(crypto::ensure_self_signed(tmp.path / "cert.pem", tmp.path / "key.pem", "localhost", {}));
  SmtpListener first(io, workers, config, "inbound", std::make_shared<test::RefusingSinks>(), metrics, log.logger(), {});
  BOOST_REQUIRE(!first.start());
  const auto port = first.local_endpoint().port();
  std::string text = config_text(tmp.path);
  text.replace(text.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(port));
  SmtpListener second(io, workers, load(text), "inbound", std::make_shared<test::RefusingSinks>(), metrics, log.logger(), {});
  const auto in_use = second.start();
  BOOST_REQUIRE(in_use);
  BOOST_TEST(in_use->message == "inbound: cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  first.cancel();
  io.run_for(200ms);
  workers.stop();
}

BOOST_AUTO_TEST_SUITE_END()
