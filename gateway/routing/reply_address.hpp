// Per-thread reply addresses: the Reply-To of a team notification is reply+TOKEN@REPLY_DOMAIN
// (notifications.reply_domain), TOKEN a 256-bit random read-link token in base64url (43 chars)
// whose SHA-256 the store keeps as a `reply` token of the thread's message. Staff reply to it from
// their mail client; the gateway turns that mail into a protected message to the client.
// Pure; no I/O. Untrusted input: envelope recipient addresses.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sinetti::routing {

inline constexpr std::string_view reply_local_prefix = "reply+";
inline constexpr std::size_t reply_token_length = 43;

// The address for a token: reply+TOKEN@domain.
std::string reply_address(std::string_view token, std::string_view domain);

// True if `address` is at `domain` (case-insensitive) with a local part starting "reply+"
// (case-insensitive), whatever follows: such an address is never routed as ordinary mail.
bool is_reply_address(std::string_view address, std::string_view domain);

// The token of a well-formed reply address (43 base64url characters after "reply+"), else nullopt.
std::optional<std::string> reply_token(std::string_view address, std::string_view domain);

}  // namespace sinetti::routing
