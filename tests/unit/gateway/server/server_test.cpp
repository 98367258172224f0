// The serve runtime end to end in one process: a real admin listener on 127.0.0.1:0, real HTTP
// requests, reloads (by call and by SIGHUP), and graceful stop (by call and by SIGTERM).
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <csignal>
#include <future>
#include <iostream>
#include <sstream>
#include <regex>

#include "config/config.hpp"
#include "gateway/cli/commands.hpp"
#include "gateway/server/server.hpp"
#include "support.hpp"

using namespace sinetti;
using namespace sinetti::server;
using namespace sinetti::server::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

std::shared_ptr<const config::Config> load(const fs::path& path) {
  auto r = config::load_file(path);
  std::string errors;
  for (const auto& e : r.errors) errors += e.str() + "\n";
  BOOST_REQUIRE_MESSAGE(r.config, errors);
  return r.config;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Runs server.run() on a thread; stops the server if the test ends early.
class Running {
 public:
  explicit Running(Server& server) : server_(server), done_(finished_.get_future()) {
    thread_ = std::thread([this] {
      server_.run();
      finished_.set_value();
    });
  }
  ~Running() {
    if (done_.wait_for(0s) != std::future_status::ready) server_.request_stop();
    thread_.join();
  }
  bool returned_within(std::chrono::milliseconds limit) { return done_.wait_for(limit) == std::future_status::ready; }

 private:
  Server& server_;
  std::promise<void> finished_;
  std::future<void> done_;
  std::thread thread_;
};

ServerOptions quiet_options() {
  ServerOptions o;
  o.handle_signals = false;
  return o;
}

// A service that stays busy until cancelled, to exercise the grace period.
class StubbornService final : public Service {
 public:
  std::string_view name() const override { return "stubborn"; }
  std::optional<Error> start() override {
    if (fail_start) return make_error("stubborn: cannot listen on 127.0.0.1:1: Permission denied");
    return std::nullopt;
  }
  void reconfigure(const std::shared_ptr<const config::Config>& c) override { last_config = c; }
  void drain() override { drained = true; }
  std::size_t active() const override { return cancelled ? 0 : 1; }
  void cancel() override { cancelled = true; }

  bool fail_start = false;
  std::atomic<bool> drained{false};
  std::atomic<bool> cancelled{false};
  std::shared_ptr<const config::Config> last_config;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(server_runtime)

BOOST_AUTO_TEST_CASE(serves_admin_endpoints_and_stops_within_the_grace_period) {
  TempDir tmp;
  const auto path = tmp.path / "sinetti.yaml";
  write_file(path, test_config(tmp.path));
  CapturedLog log;
  Server server(path, load(path), log.logger(), quiet_options());
  const auto failed = server.start();
  BOOST_REQUIRE_MESSAGE(!failed, (failed ? failed->message : ""));

  // The actual port is in the "listening" line, as an operator's script would read it.
  const auto endpoint = server.admin_endpoint();
  BOOST_REQUIRE(endpoint);
  BOOST_TEST(endpoint->port() != 0);
  const auto listening = log.events("listening");
  BOOST_REQUIRE(listening.size() == 1u);
  std::smatch m;
  BOOST_REQUIRE(std::regex_search(listening[0], m, std::regex(R"re("listener":"admin","address":"127\.0\.0\.1:(\d+)")re")));
  BOOST_TEST(std::stoi(m[1]) == endpoint->port());

  // Start-up created the data directory and the self-signed portal pair.
  BOOST_TEST(mode_of(tmp.path / "var") == 0700u);
  BOOST_TEST(mode_of(tmp.path / "var" / "tls" / "key.pem") == 0600u);
  BOOST_TEST(fs::exists(tmp.path / "var" / "tls" / "cert.pem"));
  BOOST_TEST(log.events("tls_self_signed_created").size() == 1u);

  Running running(server);
  const auto health = http_get(*endpoint, "/healthz");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body == "ok\n");
  BOOST_TEST(health.keep_alive);
  const auto ready = http_get(*endpoint, "/readyz");
  BOOST_TEST(ready.status == 200);
  BOOST_TEST(ready.body == "ready\n");
  const auto metrics = http_get(*endpoint, "/metrics");
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(metrics.content_type.starts_with("text/plain; version=0.0.4"));
  BOOST_TEST(metrics.body.find("\nsinetti_up 1\n") != std::string::npos);
  BOOST_TEST(metrics.body.find("sinetti_build_info{version=\"" + std::string(version()) + "\"} 1\n") != std::string::npos);
  BOOST_TEST(metrics.body.find("sinetti_config_reloads_total{result=\"ok\"} 0\n") != std::string::npos);
  BOOST_TEST(http_get(*endpoint, "/nope").status == 404);
  const auto post = http_request(*endpoint, http::verb::post, "/healthz");
  BOOST_TEST(post.status == 405);
  BOOST_TEST(post.allow == "GET");

  // Caps on what a client may send.
  const std::string big_header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(9000, 'a') + "\r\n\r\n";
  BOOST_TEST(http_request(*endpoint, http::verb::get, "", big_header).status == 431);
  const std::string with_body = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  BOOST_TEST(http_request(*endpoint, http::verb::get, "", with_body).status == 413);
  BOOST_TEST(http_request(*endpoint, http::verb::get, "", "NOT HTTP AT ALL\r\n\r\n").status == 400);

  server.request_stop();
  BOOST_TEST(running.returned_within(ServerOptions{}.grace + 5s));
  BOOST_TEST(log.events("stopping").size() == 1u);
  BOOST_TEST(log.events("grace_period_over").empty());
  BOOST_TEST(log.events("stopped").size() == 1u);
  BOOST_TEST(log.events("internal_error").empty(), log.all());
}

BOOST_AUTO_TEST_CASE(reload_swaps_a_valid_config_and_keeps_the_old_one_on_errors) {
  TempDir tmp;
  const auto path = tmp.path / "sinetti.yaml";
  write_file(path, test_config(tmp.path));
  CapturedLog log;
  auto options = quiet_options();
  auto stub = std::make_unique<StubbornService>();
  stub->cancelled = true;  // idle: not part of this test
  auto* service = stub.get();
  Server server(path, load(path), log.logger(), options);
  server.add_service(std::move(stub));
  BOOST_REQUIRE(!server.start());
  const auto endpoint = *server.admin_endpoint();
  Running running(server);
  const auto first = server.config();

  write_file(path, test_config(tmp.path, 0, "retention: {protected_messages: 7d}\n"));
  server.request_reload();
  BOOST_REQUIRE_MESSAGE(eventually([&] { return server.admin_state().config_reloads_ok == 1; }), log.all());
  const auto second = server.config();
  BOOST_TEST((second != first));
  BOOST_TEST(second->retention.protected_messages.count() == 7 * 86400);
  BOOST_TEST((service->last_config == second));
  BOOST_TEST(log.all().find("config reloaded") != std::string::npos);

  // An invalid file: two errors, each logged with its position; the running snapshot stays.
  write_file(path, test_config(tmp.path, 0, "retention: {protected_messages: 1h}\nbogus_section: 1\n"));
  server.request_reload();
  BOOST_REQUIRE_MESSAGE(eventually([&] { return server.admin_state().config_reloads_error == 1; }), log.all());
  BOOST_TEST((server.config() == second));
  const auto errors = log.events("config_error");
  BOOST_TEST(errors.size() == 2u, log.all());
  for (const auto& e : errors) {
    BOOST_TEST(std::regex_search(e, std::regex(R"("error":".*sinetti\.yaml:\d+:\d+: )")), e);
  }
  BOOST_TEST(log.events("config_reload_failed").size() == 1u);

  const auto metrics = http_get(endpoint, "/metrics");
  BOOST_TEST(metrics.body.find("sinetti_config_reloads_total{result=\"ok\"} 1\n") != std::string::npos);
  BOOST_TEST(metrics.body.find("sinetti_config_reloads_total{result=\"error\"} 1\n") != std::string::npos);

  server.request_stop();
  BOOST_TEST(running.returned_within(ServerOptions{}.grace + 5s));
}

BOOST_AUTO_TEST_CASE(sighup_reloads_and_sigterm_stops_closing_idle_connections) {
  TempDir tmp;
  const auto path = tmp.path / "sinetti.yaml";
  write_file(path, test_config(tmp.path));
  CapturedLog log;
  ServerOptions options;  // signals on
  Server server(path, load(path), log.logger(), options);
  BOOST_REQUIRE(!server.start());  // the handlers are installed from here on
  const auto endpoint = *server.admin_endpoint();
  Running running(server);

  ::raise(SIGHUP);
  BOOST_REQUIRE_MESSAGE(eventually([&] { return server.admin_state().config_reloads_ok == 1; }), log.all());

  // A keep-alive client that stays connected and idle.
  asio::io_context io;
  asio::ip::tcp::socket idle(io);
  idle.connect(endpoint);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(idle, asio::buffer(request));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(idle, buffer, res);
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(res.keep_alive());

  ::raise(SIGTERM);
  BOOST_TEST(running.returned_within(ServerOptions{}.grace + 5s));
  BOOST_TEST(log.events("grace_period_over").empty(), log.all());  // idle connections do not hold up a stop
  BOOST_TEST(log.all().find("\"signal\":\"SIGTERM\"") != std::string::npos);
  boost::system::error_code ec;
  char byte = 0;
  idle.read_some(asio::buffer(&byte, 1), ec);
  BOOST_TEST((ec == asio::error::eof || ec == asio::error::connection_reset), ec.message());
}

BOOST_AUTO_TEST_CASE(work_that_outlasts_the_grace_period_is_cancelled) {
  TempDir tmp;
  const auto path = tmp.path / "sinetti.yaml";
  write_file(path, test_config(tmp.path));
  CapturedLog log;
  auto options = quiet_options();
  options.grace = 100ms;
  auto stub = std::make_unique<StubbornService>();
  auto* service = stub.get();
  Server server(path, load(path), log.logger(), options);
  server.add_service(std::move(stub));
  BOOST_REQUIRE(!server.start());
  Running running(server);
  server.request_stop();
  BOOST_TEST(running.returned_within(5s));
  BOOST_TEST(service->drained.load());
  BOOST_TEST(service->cancelled.load());
  BOOST_TEST(log.events("grace_period_over").size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_stop_during_a_slow_reload_still_ends_cleanly) {
  TempDir tmp;
  const auto path = tmp.path / "sinetti.yaml";
  write_file(path, test_config(tmp.path));
  CapturedLog log;
  auto options = quiet_options();
  std::atomic<bool> loading{false};
  options.load = [&loading](const fs::path& p) {
    loading = true;
    std::this_thread::sleep_for(300ms);  // a slow disk: the reload is still on the pool when the stop comes
    return config::load_file(p);
  };
  Server server(path, load(path), log.logger(), options);
  BOOST_REQUIRE(!server.start());
  Running running(server);
  server.request_reload();
  BOOST_REQUIRE(eventually([&] { return loading.load(); }));
  server.request_stop();
  BOOST_TEST(running.returned_within(ServerOptions{}.grace + 5s));
  BOOST_TEST(log.events("internal_error").empty(), log.all());
}

BOOST_AUTO_TEST_CASE(start_fails_with_one_line_when_the_admin_port_is_taken) {
  TempDir tmp;
  asio::io_context io;
  asio::ip::tcp::acceptor taken(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = taken.local_endpoint().port();
  const auto path = tmp.path / "sinetti.yaml";
  write_file(path, test_config(tmp.path, port));
  CapturedLog log;
  Server server(path, load(path), log.logger(), quiet_options());
  const auto failed = server.start();
  BOOST_REQUIRE(failed);
  BOOST_TEST(failed->message == "admin: cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  BOOST_TEST(failed->message.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(start_fails_when_a_service_cannot_start_or_half_a_tls_pair_exists) {
  TempDir tmp;
  const auto path = tmp.path / "sinetti.yaml";
  write_file(path, test_config(tmp.path));
  {
    CapturedLog log;
    Server server(path, load(path), log.logger(), quiet_options());
    auto stub = std::make_unique<StubbornService>();
    stub->fail_start = true;
    server.add_service(std::move(stub));
    const auto failed = server.start();
    BOOST_REQUIRE(failed);
    BOOST_TEST(failed->message.starts_with("stubborn: cannot listen"));
  }
  fs::remove(tmp.path / "var" / "tls" / "cert.pem");  // the key alone is left
  {
    CapturedLog log;
    Server server(path, load(path), log.logger(), quiet_options());
    const auto failed = server.start();
    BOOST_REQUIRE(failed);
    BOOST_TEST(failed->message.starts_with("portal: self-signed TLS:"), failed->message);
  }
}

BOOST_AUTO_TEST_CASE(run_serve_exits_1_on_an_invalid_configuration) {
  TempDir tmp;
  const auto path = tmp.path / "bad.yaml";
  write_file(path, "instance: [\n");
  std::ostringstream err;
  auto* saved = std::cerr.rdbuf(err.rdbuf());
  const int bad = cli::serve(path);
  const int missing = cli::serve(tmp.path / "missing.yaml");
  std::cerr.rdbuf(saved);
  BOOST_TEST(bad == 1);
  BOOST_TEST(missing == 1);
  BOOST_TEST(err.str().find(path.string() + ":2:1: YAML syntax") != std::string::npos, err.str());
  BOOST_TEST(err.str().find("sinetti: " + path.string() + ": 1 error in the configuration; not starting\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
