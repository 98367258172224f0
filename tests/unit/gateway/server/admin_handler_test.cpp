// The admin endpoints as a pure function of request and state.
#include <boost/test/unit_test.hpp>

#include "gateway/server/admin_handler.hpp"

using namespace sinetti::server;

namespace {

AdminState running() {
  AdminState s;
  s.started = true;
  s.config_reloads_ok = 3;
  s.config_reloads_error = 1;
  s.version = "0.1.0";
  return s;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.starts_with(line + "\n") || text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(server_admin_handler)

BOOST_AUTO_TEST_CASE(healthz_is_ok_whatever_the_state) {
  for (const bool stopping : {false, true}) {
    auto state = running();
    state.stopping = stopping;
    const auto r = handle_admin({"GET", "/healthz"}, state);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "ok\n");
    BOOST_TEST(r.content_type == "text/plain; charset=utf-8");
  }
}

BOOST_AUTO_TEST_CASE(readyz_follows_start_and_stop) {
  auto state = running();
  auto r = handle_admin({"GET", "/readyz"}, state);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "ready\n");

  state.stopping = true;
  r = handle_admin({"GET", "/readyz"}, state);
  BOOST_TEST(r.status == 503);
  BOOST_TEST(r.body == "stopping\n");

  state = AdminState{};
  r = handle_admin({"GET", "/readyz"}, state);
  BOOST_TEST(r.status == 503);
}

BOOST_AUTO_TEST_CASE(metrics_in_prometheus_text_format) {
  const auto r = handle_admin({"GET", "/metrics"}, running());
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(has_line(r.body, "sinetti_up 1"));
  BOOST_TEST(has_line(r.body, "sinetti_ready 1"));
  BOOST_TEST(has_line(r.body, "sinetti_build_info{version=\"0.1.0\"} 1"));
  BOOST_TEST(has_line(r.body, "sinetti_config_reloads_total{result=\"ok\"} 3"));
  BOOST_TEST(has_line(r.body, "sinetti_config_reloads_total{result=\"error\"} 1"));
  BOOST_TEST(has_line(r.body, "# TYPE sinetti_config_reloads_total counter"));
  BOOST_TEST(has_line(r.body, "# TYPE sinetti_up gauge"));
  BOOST_TEST(r.body.back() == '\n');
}

BOOST_AUTO_TEST_CASE(metrics_label_values_are_escaped) {
  auto state = running();
  state.version = "1.0 \"beta\"\\x\n";
  const auto r = handle_admin({"GET", "/metrics"}, state);
  BOOST_TEST(has_line(r.body, "sinetti_build_info{version=\"1.0 \\\"beta\\\"\\\\x\\n\"} 1"));
}

BOOST_AUTO_TEST_CASE(query_strings_are_ignored) {
  BOOST_TEST(handle_admin({"GET", "/healthz?probe=1"}, running()).status == 200);
  BOOST_TEST(handle_admin({"GET", "/metrics?name[]=x"}, running()).status == 200);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
  for (const char* target : {"/", "/healthz/", "/HEALTHZ", "/metricsx", "*", "http://host/healthz", "", "/m/token"}) {
    BOOST_TEST(handle_admin({"GET", target}, running()).status == 404, target);
  }
}

BOOST_AUTO_TEST_CASE(other_methods_are_405_with_allow) {
  for (const char* method : {"POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "BREW"}) {
    const auto r = handle_admin({method, "/healthz"}, running());
    BOOST_TEST(r.status == 405, method);
    BOOST_TEST(r.allow == "GET");
  }
  BOOST_TEST(handle_admin({"POST", "/nowhere"}, running()).status == 405);
}

BOOST_AUTO_TEST_CASE(parse_error_responses) {
  BOOST_TEST(admin_error(431).status == 431);
  BOOST_TEST(admin_error(413).status == 413);
  BOOST_TEST(admin_error(400).body == "bad request\n");
}

BOOST_AUTO_TEST_SUITE_END()
