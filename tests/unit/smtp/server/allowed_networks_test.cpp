// CIDR matching of client addresses: IPv4, IPv6, v4-mapped IPv6 clients, and prefix edges.
#include <boost/test/unit_test.hpp>

#include "smtp/server/allowed_networks.hpp"

using namespace sinetti;
using namespace sinetti::smtp;

namespace {

config::IpNetwork net(const std::string& text) {
  config::IpNetwork n;
  n.text = text;
  const auto slash = text.find('/');
  const auto addr = asio::ip::make_address(text.substr(0, slash));
  n.v6 = addr.is_v6();
  if (n.v6) {
    const auto b = addr.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), n.address.begin());
  } else {
    const auto b = addr.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), n.address.begin());
  }
  n.prefix = static_cast<unsigned>(std::stoi(text.substr(slash + 1)));
  return n;
}

bool in(const std::string& network, const std::string& address) {
  return network_contains(net(network), asio::ip::make_address(address));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(allowed_networks)

BOOST_AUTO_TEST_CASE(ipv4) {
  BOOST_TEST(in("127.0.0.0/8", "127.0.0.1"));
  BOOST_TEST(in("127.0.0.0/8", "127.255.255.255"));
  BOOST_TEST(!in("127.0.0.0/8", "128.0.0.1"));
  BOOST_TEST(in("10.1.2.3/32", "10.1.2.3"));
  BOOST_TEST(!in("10.1.2.3/32", "10.1.2.4"));
  BOOST_TEST(in("0.0.0.0/0", "203.0.113.9"));
  // A prefix that ends inside a byte: 172.16.0.0/12 is 172.16.0.0 – 172.31.255.255.
  BOOST_TEST(in("172.16.0.0/12", "172.31.255.255"));
  BOOST_TEST(!in("172.16.0.0/12", "172.32.0.0"));
  BOOST_TEST(!in("172.16.0.0/12", "172.15.255.255"));
  BOOST_TEST(in("192.168.1.128/25", "192.168.1.200"));
  BOOST_TEST(!in("192.168.1.128/25", "192.168.1.127"));
  BOOST_TEST(!in("127.0.0.0/8", "::1"));
}

BOOST_AUTO_TEST_CASE(ipv6) {
  BOOST_TEST(in("::1/128", "::1"));
  BOOST_TEST(!in("::1/128", "::2"));
  BOOST_TEST(in("2001:db8::/32", "2001:db8:ffff::1"));
  BOOST_TEST(!in("2001:db8::/32", "2001:db9::1"));
  BOOST_TEST(in("2001:db8:abcd:0012::/63", "2001:db8:abcd:13::1"));
  BOOST_TEST(!in("2001:db8:abcd:0012::/63", "2001:db8:abcd:14::1"));
  BOOST_TEST(in("::/0", "fe80::1"));
  BOOST_TEST(!in("2001:db8::/32", "127.0.0.1"));
  BOOST_TEST(!in("::/0", "127.0.0.1"));  // "all IPv6" is not "all IPv4" too
}

BOOST_AUTO_TEST_CASE(v4_mapped_clients_match_ipv4_networks) {
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
  BOOST_TEST(in("127.0.0.0/8", "::ffff:127.0.0.1"));
  BOOST_TEST(!in("127.0.0.0/8", "::ffff:10.0.0.1"));
  BOOST_TEST(in("10.0.0.0/8", "::ffff:10.200.0.1"));
  // And a v4-mapped network matches both spellings of the client.
  BOOST_TEST(in("::ffff:10.0.0.0/104", "10.1.1.1"));
  BOOST_TEST(in("::ffff:10.0.0.0/104", "::ffff:10.1.1.1"));
  BOOST_TEST(!in("::ffff:10.0.0.0/104", "11.1.1.1"));
}

BOOST_AUTO_TEST_CASE(any_of_a_list) {
  const std::vector<config::IpNetwork> nets{net("10.0.0.0/8"), net("::1/128")};
  BOOST_TEST(any_network_contains(nets, asio::ip::make_address("10.9.9.9")));
  BOOST_TEST(any_network_contains(nets, asio::ip::make_address("::1")));
  BOOST_TEST(!any_network_contains(nets, asio::ip::make_address("127.0.0.1")));
  BOOST_TEST(!any_network_contains({}, asio::ip::make_address("127.0.0.1")));
}

BOOST_AUTO_TEST_SUITE_END()
