// render_pin_text with the built-in texts and an operator's own, loaded through the configuration.
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "sms/pin_text.hpp"

using namespace sinetti;
using namespace sinetti::sms;
using config::Language;

namespace {

const std::string base = R"(instance:
  name: Test
  public_url: "https://turvaposti.example.fi"
listeners:
  - {name: inbound, address: "127.0.0.1:2525", role: inbound}
portal:
  address: "127.0.0.1:8443"
  tls: {cert_file: c.pem, key_file: k.pem}
delivery:
  transport: "maildir:var/mail"
routing:
  rules:
    - {name: rest, action: {reject: {code: 550, text: "5.1.1 No"}}}
)";

config::Sms load_sms(const std::string& sms_section) {
  const auto r = config::load_string(base + sms_section, "t.yaml", config::LoadOptions{false});
  for (const auto& e : r.errors) BOOST_TEST_MESSAGE(e.str());
  BOOST_TEST_REQUIRE(r.config != nullptr);
  return r.config->sms;
}

std::string render(const config::Sms& sms, Language l) {
  auto text = render_pin_text(sms, l, "042917", 10, "Kaupungin työllisyyspalvelut");
  BOOST_TEST_REQUIRE(text.ok(), (text.ok() ? "" : text.error().message));
  return *text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pin_text)

BOOST_AUTO_TEST_CASE(built_in_texts_in_three_languages) {
  const auto sms = load_sms("");
  BOOST_TEST(render(sms, Language::fi) ==
             "Kaupungin työllisyyspalvelut: Turvaposti-tunnuslukusi on 042917. Se on voimassa 10 minuuttia. "
             "Älä kerro sitä kenellekään.");
  BOOST_TEST(render(sms, Language::sv) ==
             "Kaupungin työllisyyspalvelut: Din kod för säker post är 042917. Den gäller i 10 minuter. "
             "Berätta den inte för någon.");
  BOOST_TEST(render(sms, Language::en) ==
             "Kaupungin työllisyyspalvelut: Your secure mail code is 042917. It is valid for 10 minutes. "
             "Do not share it with anyone.");
}

BOOST_AUTO_TEST_CASE(operator_text_for_one_language_keeps_the_others) {
  const auto sms = load_sms("sms:\n  text:\n    fi: \"Koodi {{pin}} ({{minutes}} min) - {{organisation}}\"\n");
  BOOST_TEST(render(sms, Language::fi) == "Koodi 042917 (10 min) - Kaupungin työllisyyspalvelut");
  BOOST_TEST(render(sms, Language::en).find("Your secure mail code is 042917.") != std::string::npos);
  const auto one_for_all = load_sms("sms:\n  text: \"PIN {{pin}}\"\n");
  for (Language l : {Language::fi, Language::sv, Language::en}) BOOST_TEST(render(one_for_all, l) == "PIN 042917");
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_pin_or_a_valid_text) {
  const auto sms = load_sms("");
  BOOST_TEST(!render_pin_text(sms, Language::fi, "", 10, "x").ok());
  BOOST_TEST(!render_pin_text(sms, Language::fi, "12a456", 10, "x").ok());
  config::Sms hand_made;  // not through the configuration check
  BOOST_TEST(!render_pin_text(hand_made, Language::fi, "123456", 10, "x").ok());
  hand_made.text[Language::fi] = "Code {{pin}} {{message}}";
  BOOST_TEST(!render_pin_text(hand_made, Language::fi, "123456", 10, "x").ok());
  hand_made.text[Language::fi] = "No code here";
  BOOST_TEST(!render_pin_text(hand_made, Language::fi, "123456", 10, "x").ok());
}

BOOST_AUTO_TEST_SUITE_END()
