#include "smtp/server/allowed_networks.hpp"

#include <cstdint>

namespace sinetti::smtp {
namespace {

bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix) {
  const unsigned whole = prefix / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

bool is_v4_mapped_network(const config::IpNetwork& n) {
  if (n.prefix < 96) return false;
  for (int i = 0; i < 10; ++i) {
    if (n.address[static_cast<std::size_t>(i)] != 0) return false;
  }
  return n.address[10] == 0xff && n.address[11] == 0xff;
}

}  // namespace

bool network_contains(const config::IpNetwork& network, const asio::ip::address& address) {
  asio::ip::address a = address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (network.v6) {
    // A network inside ::ffff:0:0/96 (v4-mapped) matches IPv4 clients too; wider ones (::/0) do not.
    if (a.is_v4()) {
      if (!is_v4_mapped_network(network)) return false;
      a = asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
    }
    const auto bytes = a.to_v6().to_bytes();
    return prefix_matches(bytes.data(), network.address.data(), network.prefix);
  }
  if (!a.is_v4()) return false;
  const auto bytes = a.to_v4().to_bytes();
  return prefix_matches(bytes.data(), network.address.data(), network.prefix);
}

bool any_network_contains(const std::vector<config::IpNetwork>& networks, const asio::ip::address& address) {
  for (const auto& n : networks) {
    if (network_contains(n, address)) return true;
  }
  return false;
}

}  // namespace sinetti::smtp
