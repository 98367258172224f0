// BodyTemplate: placeholder substitution into JSON and form bodies, and the checks that make a
// broken template a configuration error rather than a wrong request.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "provider_server.hpp"
#include "sms/body_template.hpp"

using namespace sinetti;
using namespace sinetti::sms;
using Json = nlohmann::json;
using config::HttpBodyFormat;

namespace {

const TemplateValues values{"+358401234567", "358401234567", "Rivi 1\n\"Koodi\" 123456 \\ ä", "ch-1", "Turvaposti"};

RenderedBody render(HttpBodyFormat format, const std::string& json) {
  auto t = BodyTemplate::compile(format, json);
  BOOST_TEST_REQUIRE(t.ok(), (t.ok() ? "" : t.error().message));
  return t->render(values);
}

bool has_problem(HttpBodyFormat format, const std::string& json, const std::string& needle) {
  for (const auto& p : BodyTemplate::check(format, json)) {
    if (p.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(body_template)

BOOST_AUTO_TEST_CASE(json_values_are_substituted_and_escaped) {
  const auto out = render(HttpBodyFormat::json,
                          R"({"msg":"{{text}}","meta":{"ref":"sinetti-{{ref}}","to":["{{to_e164}}"]},"n":5,"flag":true,"none":null})");
  BOOST_TEST(out.content_type == "application/json");
  const Json j = Json::parse(out.body);
  BOOST_TEST(j.at("msg") == values.text);
  BOOST_TEST(j.at("meta").at("ref") == "sinetti-ch-1");
  BOOST_TEST(j.at("meta").at("to")[0] == "+358401234567");
  BOOST_TEST(j.at("n") == 5);
  BOOST_TEST(j.at("flag") == true);
  BOOST_TEST(j.at("none").is_null());
  BOOST_TEST(out.body.find('\n') == std::string::npos);  // the newline in the text is escaped
  BOOST_TEST(out.body.find(R"(\"Koodi\")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(to_digits_alone_is_a_number_elsewhere_text) {
  const Json j = Json::parse(render(HttpBodyFormat::json,
                                    R"({"a":"{{to_digits}}","b":"tel:{{to_digits}}","t":"{{text}}","e":"{{to_e164}}"})")
                                 .body);
  BOOST_TEST(j.at("a").is_number_unsigned());
  BOOST_TEST(j.at("a").get<std::uint64_t>() == 358401234567u);
  BOOST_TEST(j.at("b") == "tel:358401234567");
  BOOST_TEST(j.at("e") == "+358401234567");
}

BOOST_AUTO_TEST_CASE(form_fields_in_template_order_and_encoded) {
  const auto out = render(HttpBodyFormat::form, R"({"to":"{{to_e164}}","message":"{{text}}","flash":false,"ttl":60,"é x":"a b"})");
  BOOST_TEST(out.content_type == "application/x-www-form-urlencoded");
  BOOST_TEST(out.body.starts_with("to=%2B358401234567&message=Rivi+1%0A%22Koodi%22+123456+%5C+%C3%A4&flash=false&ttl=60&"));
  BOOST_TEST(out.body.ends_with("&%C3%A9+x=a+b"));
  const auto fields = test::parse_form(out.body);
  BOOST_TEST_REQUIRE(fields.size() == 5u);
  BOOST_TEST(fields[1].second == values.text);
}

BOOST_AUTO_TEST_CASE(form_urlencode_keeps_only_the_safe_set) {
  BOOST_TEST(form_urlencode("AZaz09*-._") == "AZaz09*-._");
  BOOST_TEST(form_urlencode("~ +&=%/?#") == "%7E+%2B%26%3D%25%2F%3F%23");
  BOOST_TEST(form_urlencode("") == "");
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported) {
  const auto json = HttpBodyFormat::json;
  BOOST_TEST(BodyTemplate::check(json, R"({"to":"{{to_e164}}","text":"{{text}}"})").empty());
  BOOST_TEST(has_problem(json, R"({"to":"{{to_e164}}","text":"{{txt}}"})", "body.text: unknown placeholder {{txt}}"));
  BOOST_TEST(has_problem(json, R"({"to":"{{to_e164}}","text":"{{text}}","x":["{{ pin }}"]})", "body.x[0]: '{{ pin }}' is not a placeholder name"));
  BOOST_TEST(has_problem(json, R"({"to":"{{to_e164}}","text":"{{text}"})", "body.text: '{{' without a closing '}}'"));
  BOOST_TEST(has_problem(json, R"({"to":"{{to_e164}}","{{text}}":"x"})", "placeholders belong in values"));
  BOOST_TEST(has_problem(json, R"({"text":"{{text}}"})", "no field holds the recipient"));
  BOOST_TEST(has_problem(json, R"({"to":"{{to_digits}}"})", "no field holds the message"));
  BOOST_TEST(has_problem(json, R"({"to":)", "not valid JSON"));
  BOOST_TEST(has_problem(json, R"(["{{to_e164}}","{{text}}"])", "expected a mapping"));
  BOOST_TEST(has_problem(json, R"({})", "has no fields"));
  BOOST_TEST(has_problem(HttpBodyFormat::form, R"({"to":"{{to_e164}}","text":"{{text}}","r":["a"]})",
                         "body.r: format form takes text fields only"));
  BOOST_TEST(has_problem(HttpBodyFormat::form, R"({"to":"{{to_e164}}","text":"{{text}}","n":null})", "body.n: format form"));
  std::string deep = R"({"to":"{{to_e164}}","text":"{{text}}","d":)";
  for (int i = 0; i < 20; ++i) deep += "[";
  for (int i = 0; i < 20; ++i) deep += "]";
  BOOST_TEST(has_problem(json, deep + "}", "nested deeper than"));

  const auto several = BodyTemplate::check(json, R"({"a":"{{x}}","b":"{{y}}"})");
  BOOST_TEST(several.size() == 4u);  // x, y, no recipient, no message
  auto refused = BodyTemplate::compile(json, R"({"a":"{{x}}","b":"{{y}}"})");
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().message.find("{{x}}") != std::string::npos);
  BOOST_TEST(refused.error().message.find("{{y}}") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
