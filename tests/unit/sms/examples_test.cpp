// The shipped provider examples (config/examples/sms-*.yaml): each loads, and its body template
// renders to exactly the fields that provider documents (REFERENCES.md "SMS provider APIs"); then
// the example's settings drive a real exchange with a local server replying as the provider does.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "provider_server.hpp"
#include "sms/body_template.hpp"
#include "sms/http_sender.hpp"

using namespace sinetti;
using namespace sinetti::sms;
using namespace sinetti::sms::test;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const fs::path examples = fs::path(SINETTI_TEST_DATA_DIR) / ".." / ".." / "config" / "examples";

config::SmsHttp load_http(const std::string& name) {
  const auto loaded = config::load_file(examples / name, config::LoadOptions{false});
  for (const auto& e : loaded.errors) BOOST_TEST_MESSAGE(e.str());
  BOOST_TEST_REQUIRE(loaded.config != nullptr, name);
  BOOST_TEST_REQUIRE((loaded.config->sms.driver == config::SmsDriver::http), name);
  BOOST_TEST_REQUIRE(loaded.config->sms.http.has_value(), name);
  BOOST_TEST(validate(*loaded.config->sms.http).empty(), name);
  BOOST_TEST(loaded.config->sms.sender == "Turvaposti");
  return *loaded.config->sms.http;
}

const TemplateValues values{"+358401234567", "358401234567", "Koodi 123456 \"nyt\" & heti", "challenge-42", "Turvaposti"};

RenderedBody render(const config::SmsHttp& h) {
  auto t = BodyTemplate::compile(h.format, h.body_template);
  BOOST_TEST_REQUIRE(t.ok(), (t.ok() ? "" : t.error().message));
  return t->render(values);
}

std::string path_of(const std::string& url) {
  const auto host_start = url.find("://") + 3;
  return url.substr(url.find('/', host_start));
}

struct SecretFiles {
  fs::path dir;
  SecretFiles() {
    std::string pattern = (fs::temp_directory_path() / "sinetti-sms-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~SecretFiles() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  // Points the secret at a fresh file holding `value` (the example's path is /etc/sinetti/...).
  void replace(std::optional<config::Secret>& secret, const std::string& value) {
    BOOST_TEST_REQUIRE(secret.has_value());
    const fs::path p = dir / fs::path(secret->ref).filename();
    std::ofstream(p) << value << "\n";
    secret->ref = p.string();
  }
};

HttpSmsOptions no_waiting() {
  HttpSmsOptions o;
  o.wait = [](std::chrono::milliseconds) {};
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(provider_examples)

BOOST_AUTO_TEST_CASE(gatewayapi) {
  auto h = load_http("sms-gatewayapi.yaml");
  BOOST_TEST(h.url == "https://gatewayapi.eu/rest/mtsms");
  BOOST_TEST((h.auth == config::HttpAuthKind::basic));
  BOOST_TEST(h.username_secret.has_value());
  BOOST_TEST(!h.password.has_value());
  const auto body = render(h);
  BOOST_TEST(body.content_type == "application/json");
  const Json j = Json::parse(body.body);
  BOOST_TEST(j.size() == 4u);
  BOOST_TEST(j.at("sender") == "Turvaposti");
  BOOST_TEST(j.at("message") == values.text);
  BOOST_TEST(j.at("userref") == "challenge-42");
  BOOST_TEST_REQUIRE(j.at("recipients").size() == 1u);
  BOOST_TEST(j.at("recipients")[0].size() == 1u);
  BOOST_TEST(j.at("recipients")[0].at("msisdn") == 358401234567u);  // a number, as GatewayAPI documents

  SecretFiles secrets;
  secrets.replace(h.username_secret, "GW-API-TOKEN");
  ProviderServer server({{200, R"({"ids": [421332671]})"}});
  h.url = server.url(path_of(h.url));
  auto sender = HttpSmsSender::create(h, "Turvaposti", no_waiting());
  BOOST_TEST_REQUIRE(sender.ok(), (sender.ok() ? "" : sender.error().message));
  const auto r = (*sender)->send({"+358401234567", values.text, "challenge-42"});
  BOOST_TEST_REQUIRE(r.accepted(), (r.accepted() ? "" : r.failure().reason));
  BOOST_TEST(r.acceptance().provider_id.value_or("") == "421332671");
  const auto q = server.requests().at(0);
  BOOST_TEST(q.method == "POST");
  BOOST_TEST(q.target == "/rest/mtsms");
  BOOST_TEST(q.authorization == "Basic " + base64("GW-API-TOKEN:"));
  BOOST_TEST(Json::parse(q.body) == j);
}

BOOST_AUTO_TEST_CASE(fortysix_elks) {
  auto h = load_http("sms-46elks.yaml");
  BOOST_TEST(h.url == "https://api.46elks.com/a1/sms");
  const auto body = render(h);
  BOOST_TEST(body.content_type == "application/x-www-form-urlencoded");
  const auto fields = parse_form(body.body);
  BOOST_TEST_REQUIRE(fields.size() == 3u);
  BOOST_TEST(fields[0].first == "from");
  BOOST_TEST(fields[0].second == "Turvaposti");
  BOOST_TEST(fields[1].first == "to");
  BOOST_TEST(fields[1].second == "+358401234567");  // 46elks takes E.164 with '+'
  BOOST_TEST(fields[2].first == "message");
  BOOST_TEST(fields[2].second == values.text);

  SecretFiles secrets;
  secrets.replace(h.password, "elks-secret");
  ProviderServer server({{200, R"({"status": "created", "id": "s70df59406a1b4643b96f3f91e0bfb7b7", "to": "+358401234567"})"}});
  h.url = server.url(path_of(h.url));
  auto sender = HttpSmsSender::create(h, "Turvaposti", no_waiting());
  BOOST_TEST_REQUIRE(sender.ok(), (sender.ok() ? "" : sender.error().message));
  const auto r = (*sender)->send({"+358401234567", values.text, "challenge-42"});
  BOOST_TEST_REQUIRE(r.accepted(), (r.accepted() ? "" : r.failure().reason));
  BOOST_TEST(r.acceptance().provider_id.value_or("") == "s70df59406a1b4643b96f3f91e0bfb7b7");
  const auto q = server.requests().at(0);
  BOOST_TEST(q.target == "/a1/sms");
  BOOST_TEST(q.content_type == "application/x-www-form-urlencoded");
  BOOST_TEST(q.authorization == "Basic " + base64(h.username + ":elks-secret"));
  BOOST_TEST((parse_form(q.body) == fields));
}

BOOST_AUTO_TEST_CASE(twilio) {
  auto h = load_http("sms-twilio.yaml");
  BOOST_TEST(h.url.starts_with("https://api.twilio.com/2010-04-01/Accounts/"));
  BOOST_TEST(h.url.ends_with("/Messages.json"));
  BOOST_TEST(h.success == std::vector<int>{201});
  const auto body = render(h);
  BOOST_TEST(body.content_type == "application/x-www-form-urlencoded");
  const auto fields = parse_form(body.body);
  BOOST_TEST_REQUIRE(fields.size() == 3u);
  BOOST_TEST(fields[0].first == "From");
  BOOST_TEST(fields[0].second == "Turvaposti");
  BOOST_TEST(fields[1].first == "To");
  BOOST_TEST(fields[1].second == "+358401234567");
  BOOST_TEST(fields[2].first == "Body");
  BOOST_TEST(fields[2].second == values.text);

  SecretFiles secrets;
  secrets.replace(h.password, "twilio-auth-token");
  ProviderServer server({{201, R"({"sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued"})"}});
  const std::string path = path_of(h.url);
  h.url = server.url(path);
  auto sender = HttpSmsSender::create(h, "Turvaposti", no_waiting());
  BOOST_TEST_REQUIRE(sender.ok(), (sender.ok() ? "" : sender.error().message));
  const auto r = (*sender)->send({"+358401234567", values.text, "challenge-42"});
  BOOST_TEST_REQUIRE(r.accepted(), (r.accepted() ? "" : r.failure().reason));
  BOOST_TEST(r.acceptance().provider_id.value_or("") == "SM1f0e8ae6ade43cb3c0ce4525424e404f");
  const auto q = server.requests().at(0);
  BOOST_TEST(q.target == path);
  BOOST_TEST(q.authorization == "Basic " + base64(h.username + ":twilio-auth-token"));
  BOOST_TEST((parse_form(q.body) == fields));
}

BOOST_AUTO_TEST_SUITE_END()
