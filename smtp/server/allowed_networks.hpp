// Matching client addresses against configured networks (listeners[].allowed_networks). An IPv4
// client that reaches an IPv6 socket arrives as a v4-mapped address (::ffff:a.b.c.d) and matches
// IPv4 networks as itself. Untrusted input: the peer address (from the kernel).
#pragma once

#include <vector>

#include "config/config.hpp"
#include "smtp/server/asio.hpp"

namespace sinetti::smtp {

bool network_contains(const config::IpNetwork& network, const asio::ip::address& address);
bool any_network_contains(const std::vector<config::IpNetwork>& networks, const asio::ip::address& address);

}  // namespace sinetti::smtp
