// The Received: trace field a receiving SMTP server prepends (RFC 5321 §4.4, protocol names per
// RFC 3848: ESMTP, ESMTPS, ESMTPA, ESMTPSA). Untrusted input: the client's HELO/EHLO name and the
// recipient address, both reduced to a safe character set here.
#pragma once

#include <chrono>
#include <string>

namespace sinetti::smtp {

struct TraceInfo {
  std::string helo;         // as the client sent it
  std::string peer_ip;      // "192.0.2.1" or "2001:db8::1"
  std::string by_host;      // our host name
  bool esmtp = true;
  bool tls = false;
  bool authenticated = false;
  std::string tls_protocol; // "TLSv1.3", optional
  std::string tls_cipher;   // optional
  std::string id;           // our queue id
  std::string for_recipient;  // only for a single recipient; empty otherwise
  std::chrono::system_clock::time_point when;
};

// "Received: from ... by ... with ... id ...; DATE\r\n", folded at 78 columns.
std::string received_field(const TraceInfo& info);

// RFC 5322 §3.3 date-time in UTC: "Tue, 01 Dec 2026 19:00:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t);

}  // namespace sinetti::smtp
