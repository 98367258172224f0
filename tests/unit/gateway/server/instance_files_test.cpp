// The names a self-signed development certificate carries.
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "config/config.hpp"
#include "gateway/server/instance_files.hpp"

using namespace sinetti;
using namespace sinetti::server;

namespace {

config::Config sample(const std::string& public_url) {
  config::Config c;
  c.instance.public_url = public_url;
  c.portal.address = {"127.0.0.1", 8443};
  c.listeners.push_back(config::Listener{});
  c.listeners.back().address = {"0.0.0.0", 25};  // wildcard: not a name
  c.listeners.push_back(config::Listener{});
  c.listeners.back().address = {"192.0.2.10", 587};
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(server_instance_files)

BOOST_AUTO_TEST_CASE(names_cover_loopback_the_public_host_and_specific_addresses) {
  const auto names = self_signed_names(sample("https://turvaposti.example.fi:8443/path"));
  const std::vector<std::string> expected = {"DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:turvaposti.example.fi",
                                             "IP:192.0.2.10"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  BOOST_TEST(self_signed_common_name(sample("https://turvaposti.example.fi:8443/path")) == "turvaposti.example.fi");
}

BOOST_AUTO_TEST_CASE(ipv6_public_url_and_unusable_common_names) {
  const auto names = self_signed_names(sample("https://[2001:db8::1]:8443/"));
  BOOST_TEST((std::find(names.begin(), names.end(), "IP:2001:db8::1") != names.end()));
  BOOST_TEST(self_signed_common_name(sample("")) == "localhost");
  BOOST_TEST(self_signed_common_name(sample("https://" + std::string(70, 'a') + ".example/")) == "localhost");
}

BOOST_AUTO_TEST_SUITE_END()
