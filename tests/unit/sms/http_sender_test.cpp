// HttpSmsSender against a real HTTP server on loopback: what it sends (method, path, content type,
// auth header, body), how it reads replies, when it retries and how long it waits (recorded, not slept).
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/tls_files.hpp"
#include "provider_server.hpp"
#include "sms/http_sender.hpp"

using namespace sinetti;
using namespace sinetti::sms;
using namespace sinetti::sms::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sinetti-sms-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path p = path / name;
    std::ofstream(p) << content;
    return p;
  }
};

config::Secret secret_file(const fs::path& p) { return config::Secret{config::Secret::Source::file, p.string(), {}}; }

// A GatewayAPI-shaped JSON driver pointed at `url`.
config::SmsHttp json_driver(const std::string& url) {
  config::SmsHttp h;
  h.url = url;
  h.method = "POST";
  h.format = config::HttpBodyFormat::json;
  h.body_template = R"({"sender":"{{sender}}","message":"{{text}}","recipients":[{"msisdn":"{{to_digits}}"}],"userref":"{{ref}}"})";
  h.success = {200};
  h.message_id_pointer = "/ids/0";
  h.retry_on = {429, 500, 502, 503, 504};
  h.max_retries = 3;
  h.timeout = 5s;
  return h;
}

struct Recorder {
  std::vector<std::chrono::milliseconds> waits;
  HttpSmsOptions options() {
    HttpSmsOptions o;
    o.wait = [this](std::chrono::milliseconds d) { waits.push_back(d); };
    return o;
  }
};

const SmsMessage message{"+358401234567", "Turvaposti-tunnuslukusi on 123456.", "challenge-42"};

std::unique_ptr<HttpSmsSender> make(const config::SmsHttp& h, HttpSmsOptions options) {
  auto s = HttpSmsSender::create(h, "Turvaposti", std::move(options));
  BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().message));
  return std::move(*s);
}

using Waits = std::vector<std::chrono::milliseconds>;

}  // namespace

BOOST_AUTO_TEST_SUITE(http_sender)

BOOST_AUTO_TEST_CASE(json_body_basic_auth_and_numeric_id) {
  TempDir dir;
  ProviderServer server({{200, R"({"ids": [421332671], "usage": {"total_cost": 0.05}})"}});
  auto h = json_driver(server.url("/rest/mtsms"));
  h.auth = config::HttpAuthKind::basic;
  h.username_secret = secret_file(dir.write("token", "gw-token\n"));
  Recorder rec;
  auto sender = make(h, rec.options());

  const auto r = sender->send(message);
  BOOST_TEST_REQUIRE(r.accepted(), (r.accepted() ? "" : r.failure().reason));
  BOOST_TEST(r.acceptance().provider_id.value_or("") == "421332671");
  BOOST_TEST(r.attempts() == 1u);
  BOOST_TEST(rec.waits.empty());
  BOOST_TEST(sender->name() == "127.0.0.1");

  const auto requests = server.requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  const auto& q = requests[0];
  BOOST_TEST(q.method == "POST");
  BOOST_TEST(q.target == "/rest/mtsms");
  BOOST_TEST(q.content_type == "application/json");
  BOOST_TEST(q.authorization == "Basic Z3ctdG9rZW46");  // "gw-token:" — the token as user, no password
  const Json body = Json::parse(q.body);
  BOOST_TEST(body.size() == 4u);
  BOOST_TEST(body.at("sender") == "Turvaposti");
  BOOST_TEST(body.at("message") == message.text);
  BOOST_TEST(body.at("userref") == "challenge-42");
  BOOST_TEST_REQUIRE(body.at("recipients").size() == 1u);
  BOOST_TEST(body.at("recipients")[0].at("msisdn").is_number_unsigned());
  BOOST_TEST(body.at("recipients")[0].at("msisdn").get<std::uint64_t>() == 358401234567u);
}

BOOST_AUTO_TEST_CASE(form_body_and_201_with_string_id) {
  TempDir dir;
  ProviderServer server({{201, R"({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"})"}});
  config::SmsHttp h;
  h.url = server.url("/2010-04-01/Accounts/AC01/Messages.json");
  h.method = "POST";
  h.auth = config::HttpAuthKind::basic;
  h.username = "AC01";
  h.password = secret_file(dir.write("token", "pa:ss w0rd\n"));
  h.format = config::HttpBodyFormat::form;
  h.body_template = R"({"From":"{{sender}}","To":"{{to_e164}}","Body":"{{text}}"})";
  h.success = {201};
  h.message_id_pointer = "/sid";
  h.retry_on = {429, 500};
  h.timeout = 5s;
  Recorder rec;
  const SmsMessage m{"+358401234567", "Koodi 123456 & muuta: äö + 100% = ok", "r1"};
  const auto r = make(h, rec.options())->send(m);
  BOOST_TEST_REQUIRE(r.accepted(), (r.accepted() ? "" : r.failure().reason));
  BOOST_TEST(r.acceptance().provider_id.value_or("") == "SM0123456789abcdef0123456789abcdef");

  const auto requests = server.requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  BOOST_TEST(requests[0].target == "/2010-04-01/Accounts/AC01/Messages.json");
  BOOST_TEST(requests[0].content_type == "application/x-www-form-urlencoded");
  BOOST_TEST(requests[0].authorization == "Basic " + base64("AC01:pa:ss w0rd"));
  const auto fields = parse_form(requests[0].body);
  BOOST_TEST_REQUIRE(fields.size() == 3u);
  BOOST_TEST(fields[0].first == "From");
  BOOST_TEST(fields[0].second == "Turvaposti");
  BOOST_TEST(fields[1].first == "To");
  BOOST_TEST(fields[1].second == "+358401234567");
  BOOST_TEST(fields[2].first == "Body");
  BOOST_TEST(fields[2].second == m.text);
}

BOOST_AUTO_TEST_CASE(bearer_token_from_the_environment) {
  ProviderServer server({{202, "{}"}});
  auto h = json_driver(server.url("/v1/sms"));
  h.success = {202};
  h.message_id_pointer.clear();  // no id expected: the body is not even looked at
  h.auth = config::HttpAuthKind::bearer;
  h.token = config::Secret{config::Secret::Source::env, "SINETTI_TEST_SMS_TOKEN", {}};
  ::setenv("SINETTI_TEST_SMS_TOKEN", "tok-3f9a", 1);
  Recorder rec;
  auto sender = make(h, rec.options());
  ::unsetenv("SINETTI_TEST_SMS_TOKEN");  // read once, at creation
  const auto r = sender->send(message);
  BOOST_TEST_REQUIRE(r.accepted());
  BOOST_TEST(!r.acceptance().provider_id.has_value());
  BOOST_TEST_REQUIRE(server.requests().size() == 1u);
  BOOST_TEST(server.requests()[0].authorization == "Bearer tok-3f9a");
}

BOOST_AUTO_TEST_CASE(no_auth_sends_no_authorization_header) {
  ProviderServer server({{200, R"({"ids":["a1"]})"}});
  Recorder rec;
  const auto r = make(json_driver(server.url("/")), rec.options())->send(message);
  BOOST_TEST_REQUIRE(r.accepted());
  BOOST_TEST(r.acceptance().provider_id.value_or("") == "a1");
  BOOST_TEST(server.requests().at(0).authorization.empty());
}

BOOST_AUTO_TEST_CASE(put_method_is_used_as_configured) {
  ProviderServer server({{200, R"({"ids":[1]})"}});
  auto h = json_driver(server.url("/sms"));
  h.method = "PUT";
  Recorder rec;
  BOOST_TEST(make(h, rec.options())->send(message).accepted());
  BOOST_TEST(server.requests().at(0).method == "PUT");
}

BOOST_AUTO_TEST_CASE(retry_after_on_429_is_honoured) {
  ProviderServer server({{429, R"({"message":"slow down"})", {{"Retry-After", "2"}}}, {200, R"({"ids":[7]})"}});
  Recorder rec;
  const auto r = make(json_driver(server.url("/")), rec.options())->send(message);
  BOOST_TEST_REQUIRE(r.accepted(), (r.accepted() ? "" : r.failure().reason));
  BOOST_TEST(r.acceptance().provider_id.value_or("") == "7");
  BOOST_TEST(r.attempts() == 2u);
  BOOST_TEST(server.requests().size() == 2u);
  BOOST_TEST(rec.waits == Waits{2000ms});  // the provider's 2 s, not the 0.5 s backoff
}

BOOST_AUTO_TEST_CASE(short_retry_after_does_not_shorten_the_backoff) {
  ProviderServer server({{503, "", {{"Retry-After", "0"}}}, {200, R"({"ids":[7]})"}});
  Recorder rec;
  BOOST_TEST(make(json_driver(server.url("/")), rec.options())->send(message).accepted());
  BOOST_TEST(rec.waits == Waits{500ms});
}

BOOST_AUTO_TEST_CASE(retry_after_beyond_the_cap_gives_up_at_once) {
  ProviderServer server({{429, "", {{"Retry-After", "3600"}}}, {200, R"({"ids":[7]})"}});
  Recorder rec;
  const auto r = make(json_driver(server.url("/")), rec.options())->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(r.failure().retryable);
  BOOST_TEST(r.failure().reason.find("asks to wait 3600 s") != std::string::npos, r.failure().reason);
  BOOST_TEST(server.requests().size() == 1u);
  BOOST_TEST(rec.waits.empty());
}

BOOST_AUTO_TEST_CASE(server_errors_are_retried_max_retries_times_with_backoff) {
  ProviderServer server({{500, R"({"error":"internal"})"}});
  Recorder rec;
  const auto r = make(json_driver(server.url("/")), rec.options())->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(r.failure().retryable);
  BOOST_TEST(r.attempts() == 4u);
  BOOST_TEST(server.requests().size() == 4u);  // the first attempt and max_retries = 3 retries
  BOOST_TEST(rec.waits == (Waits{500ms, 1000ms, 2000ms}));
  BOOST_TEST(r.failure().reason.find("HTTP 500") != std::string::npos, r.failure().reason);
  BOOST_TEST(r.failure().reason.find("after 4 attempts") != std::string::npos, r.failure().reason);
}

BOOST_AUTO_TEST_CASE(backoff_is_bounded) {
  ProviderServer server({{502, ""}});
  auto h = json_driver(server.url("/"));
  h.max_retries = 7;
  Recorder rec;
  BOOST_TEST(!make(h, rec.options())->send(message).accepted());
  BOOST_TEST(server.requests().size() == 8u);
  BOOST_TEST(rec.waits == (Waits{500ms, 1000ms, 2000ms, 4000ms, 8000ms, 8000ms, 8000ms}));
}

BOOST_AUTO_TEST_CASE(zero_retries_means_one_attempt) {
  ProviderServer server({{503, ""}});
  auto h = json_driver(server.url("/"));
  h.max_retries = 0;
  Recorder rec;
  const auto r = make(h, rec.options())->send(message);
  BOOST_TEST(!r.accepted());
  BOOST_TEST(r.failure().retryable);
  BOOST_TEST(server.requests().size() == 1u);
  BOOST_TEST(rec.waits.empty());
}

BOOST_AUTO_TEST_CASE(client_errors_are_not_retried_and_the_reason_hides_numbers) {
  TempDir dir;
  ProviderServer server({{400, R"({"message":"Recipient +358401234567 (358 40 123 4567) is invalid, code 21211"})"}});
  auto h = json_driver(server.url("/"));
  h.auth = config::HttpAuthKind::basic;
  h.username = "acct";
  h.password = secret_file(dir.write("pw", "s3cret-pass"));
  Recorder rec;
  const auto r = make(h, rec.options())->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(!r.failure().retryable);
  BOOST_TEST(server.requests().size() == 1u);
  BOOST_TEST(rec.waits.empty());
  const auto& reason = r.failure().reason;
  BOOST_TEST(reason.find("HTTP 400") != std::string::npos, reason);
  BOOST_TEST(reason.find("is invalid") != std::string::npos, reason);
  BOOST_TEST(reason.find("21211") != std::string::npos, reason);  // short codes stay: they explain
  BOOST_TEST(reason.find("4567") == std::string::npos, reason);
  BOOST_TEST(reason.find("358") == std::string::npos, reason);
}

BOOST_AUTO_TEST_CASE(echoed_credentials_are_masked_in_the_reason) {
  TempDir dir;
  ProviderServer server({{401, R"({"message":"unknown token gw-token-9f8e7d"})"}});
  auto h = json_driver(server.url("/"));
  h.auth = config::HttpAuthKind::basic;
  h.username_secret = secret_file(dir.write("token", "gw-token-9f8e7d"));
  Recorder rec;
  const auto r = make(h, rec.options())->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(!r.failure().retryable);
  BOOST_TEST(r.failure().reason.find("gw-token") == std::string::npos, r.failure().reason);
  BOOST_TEST(r.failure().reason.find("[secret]") != std::string::npos, r.failure().reason);
}

BOOST_AUTO_TEST_CASE(statuses_neither_success_nor_retry_are_failures) {
  for (int status : {204, 302, 404}) {
    ProviderServer server({{status, ""}});
    Recorder rec;
    const auto r = make(json_driver(server.url("/")), rec.options())->send(message);
    BOOST_TEST_REQUIRE(!r.accepted(), status);
    BOOST_TEST(!r.failure().retryable, status);
    BOOST_TEST(server.requests().size() == 1u, status);
  }
}

BOOST_AUTO_TEST_CASE(success_with_malformed_json_is_a_failure) {
  ProviderServer server({{200, R"({"ids": [1, )"}});
  Recorder rec;
  const auto r = make(json_driver(server.url("/")), rec.options())->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(!r.failure().retryable);
  BOOST_TEST(r.failure().reason.find("not JSON") != std::string::npos, r.failure().reason);
  BOOST_TEST(r.failure().reason.find("may have been sent") != std::string::npos, r.failure().reason);
  BOOST_TEST(server.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(success_without_the_id_is_a_failure) {
  for (const char* reply : {R"({"id": 5})", R"({"ids": []})", R"({"ids": {"x": 1}})", R"([1, 2])", R"({"ids": [null]})",
                            R"({"ids": [""]})", R"("text")"}) {
    ProviderServer server({{200, reply}});
    Recorder rec;
    const auto r = make(json_driver(server.url("/")), rec.options())->send(message);
    BOOST_TEST_REQUIRE(!r.accepted(), reply);
    BOOST_TEST(!r.failure().retryable, reply);
    BOOST_TEST(r.failure().reason.find("/ids/0") != std::string::npos, r.failure().reason);
    BOOST_TEST(server.requests().size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(slow_reply_times_out_and_is_retried) {
  ProviderServer server({{200, R"({"ids":[1]})", {}, 4000ms}});
  auto h = json_driver(server.url("/"));
  h.timeout = 1s;
  h.max_retries = 1;
  Recorder rec;
  const auto r = make(h, rec.options())->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(r.failure().retryable);
  BOOST_TEST(r.failure().reason.find("timeout") != std::string::npos, r.failure().reason);
  BOOST_TEST(r.attempts() == 2u);
  BOOST_TEST(server.requests().size() == 2u);
  BOOST_TEST(rec.waits == Waits{500ms});
}

BOOST_AUTO_TEST_CASE(connection_refused_is_retried_then_fails) {
  auto h = json_driver("http://127.0.0.1:" + std::to_string(closed_port()) + "/");
  h.max_retries = 2;
  Recorder rec;
  const auto r = make(h, rec.options())->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(r.failure().retryable);
  BOOST_TEST(r.failure().reason.find("connect") != std::string::npos, r.failure().reason);
  BOOST_TEST(r.attempts() == 3u);
  BOOST_TEST(rec.waits == (Waits{500ms, 1000ms}));
}

BOOST_AUTO_TEST_CASE(reply_beyond_the_cap_is_refused) {
  ProviderServer server({{200, R"({"ids":[1],"pad":")" + std::string(5000, 'x') + "\"}"}});
  Recorder rec;
  auto options = rec.options();
  options.max_reply_bytes = 4096;
  const auto r = make(json_driver(server.url("/")), std::move(options))->send(message);
  BOOST_TEST_REQUIRE(!r.accepted());
  BOOST_TEST(!r.failure().retryable);
  BOOST_TEST(r.failure().reason.find("larger than 4096") != std::string::npos, r.failure().reason);
}

BOOST_AUTO_TEST_CASE(tls_is_verified) {
  TempDir dir;
  const auto cert = dir.path / "cert.pem";
  const auto key = dir.path / "key.pem";
  BOOST_TEST_REQUIRE(crypto::ensure_self_signed(cert, key, "127.0.0.1", {"IP:127.0.0.1"}).ok());
  ProviderServer server({{200, R"({"ids":[99]})"}}, TlsFiles{cert, key});
  const auto h = json_driver(server.url("/rest/mtsms"));
  BOOST_TEST(h.url.starts_with("https://"));

  Recorder trusting;
  auto options = trusting.options();
  options.ca_file = cert;
  const auto ok = make(h, std::move(options))->send(message);
  BOOST_TEST_REQUIRE(ok.accepted(), (ok.accepted() ? "" : ok.failure().reason));
  BOOST_TEST(ok.acceptance().provider_id.value_or("") == "99");

  Recorder system_cas;  // the self-signed certificate is not in the system's store
  const auto refused = make(h, system_cas.options())->send(message);
  BOOST_TEST_REQUIRE(!refused.accepted());
  BOOST_TEST(!refused.failure().retryable);
  BOOST_TEST(refused.failure().reason.find("tls") != std::string::npos, refused.failure().reason);
  BOOST_TEST(refused.attempts() == 1u);
  BOOST_TEST(server.requests().size() == 1u);  // only the trusting client got as far as a request
}

BOOST_AUTO_TEST_CASE(bad_messages_are_refused_without_a_request) {
  ProviderServer server({{200, R"({"ids":[1]})"}});
  Recorder rec;
  auto sender = make(json_driver(server.url("/")), rec.options());
  for (const SmsMessage& m : {SmsMessage{"0401234567", "x", "r"}, SmsMessage{"+35840abc", "x", "r"},
                              SmsMessage{"+358401234567", "", "r"},
                              SmsMessage{"+358401234567", std::string(max_sms_text_bytes + 1, 'a'), "r"},
                              SmsMessage{"+358401234567", "x", std::string(max_sms_ref_bytes + 1, 'r')}}) {
    const auto r = sender->send(m);
    BOOST_TEST(!r.accepted());
    BOOST_TEST(!r.failure().retryable);
    BOOST_TEST(r.attempts() == 0u);
  }
  BOOST_TEST(server.requests().empty());
}

BOOST_AUTO_TEST_CASE(create_reports_unreadable_secrets_without_their_values) {
  auto h = json_driver("https://sms.example/send");
  h.auth = config::HttpAuthKind::basic;
  h.username = "u";
  h.password = secret_file("/nonexistent/sinetti/sms.password");
  auto s = HttpSmsSender::create(h, "Turvaposti");
  BOOST_TEST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("sms.http.auth.password") != std::string::npos, s.error().message);
  BOOST_TEST(s.error().message.find("/nonexistent/sinetti/sms.password") != std::string::npos, s.error().message);

  TempDir dir;
  h.password = secret_file(dir.write("pw", "line1\nline2"));
  auto injected = HttpSmsSender::create(h, "Turvaposti");
  BOOST_TEST_REQUIRE(!injected.ok());
  BOOST_TEST(injected.error().message.find("control characters") != std::string::npos);
  BOOST_TEST(injected.error().message.find("line1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(validate_reports_every_problem_with_its_location) {
  config::SmsHttp h = json_driver("not a url");
  h.url_where = {"s.yaml", 3, 10};
  h.body_where = {"s.yaml", 7, 5};
  h.message_id_where = {"s.yaml", 12, 17};
  h.body_template = R"({"to":"{{to_digit}}","text":"{{text}","{{ref}}":"x"})";
  h.message_id_pointer = "ids/0";
  h.auth = config::HttpAuthKind::bearer;
  const auto problems = validate(h);
  std::string all;
  for (const auto& p : problems) all += p.str() + "\n";
  const auto has = [&](int line, const std::string& needle) {
    for (const auto& p : problems) {
      if (p.where.line == line && p.message.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  BOOST_TEST(has(3, "sms.http.url: 'not a url' is not a URL"), all);
  BOOST_TEST(has(7, "sms.http.body.to: unknown placeholder {{to_digit}}"), all);
  BOOST_TEST(has(7, "sms.http.body.text: '{{' without a closing '}}'"), all);
  BOOST_TEST(has(7, "sms.http.body.{{ref}}: placeholders belong in values"), all);
  BOOST_TEST(has(7, "no field holds the recipient"), all);
  BOOST_TEST(has(7, "no field holds the message"), all);
  BOOST_TEST(has(12, "sms.http.message_id: 'ids/0' is not a JSON pointer"), all);
  BOOST_TEST(has(3, "bearer needs token_file"), all);
  BOOST_TEST(problems.size() == 8u, all);

  auto refused = HttpSmsSender::create(h, "Turvaposti");
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().message.find("{{to_digit}}") != std::string::npos);

  BOOST_TEST(validate(json_driver("https://gatewayapi.eu/rest/mtsms")).empty());
}

BOOST_AUTO_TEST_CASE(message_id_lookup) {
  BOOST_TEST(*message_id_from_reply(R"({"ids":[12,13]})", "/ids/1") == "13");
  BOOST_TEST(*message_id_from_reply(R"({"a/b":{"~":"x-1"}})", "/a~1b/~0") == "x-1");
  BOOST_TEST(*message_id_from_reply(R"({"id":1.5})", "/id") == "1.5");
  BOOST_TEST(*message_id_from_reply(R"({"sid":"SM\u00e4"})", "/sid") == "SM\xC3\xA4");
  BOOST_TEST(!message_id_from_reply(R"({"id":true})", "/id").ok());
  BOOST_TEST(!message_id_from_reply(R"({"ids":["a"]})", "/ids/x").ok());
  BOOST_TEST(!message_id_from_reply("", "/id").ok());
  BOOST_TEST(!message_id_from_reply(R"({"id":"a"})", "id").ok());
}

BOOST_AUTO_TEST_CASE(reply_excerpt_is_short_and_safe) {
  BOOST_TEST(reply_excerpt("{\"error\":\"bad\"}\r\n") == "{\"error\":\"bad\"}");
  BOOST_TEST(reply_excerpt("code 21211 for +358401234567") == "code 21211 for +[digits]");
  BOOST_TEST(reply_excerpt("pin 123456.") == "pin [digits].");
  BOOST_TEST(reply_excerpt("call 040-123 4567 now") == "call [digits] now");
  BOOST_TEST(reply_excerpt("year 2026, 12345") == "year 2026, 12345");
  const auto long_one = reply_excerpt(std::string(1000, 'a'));
  BOOST_TEST(long_one.size() == 203u);
  BOOST_TEST(long_one.ends_with("..."));
}

BOOST_AUTO_TEST_SUITE_END()
