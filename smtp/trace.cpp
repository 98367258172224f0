#include "smtp/trace.hpp"

#include <cstdio>
#include <ctime>
#include <vector>

namespace sinetti::smtp {

namespace {

// Keeps what may appear in a domain, address literal or mailbox; drops everything else (a client
// may send any bytes as its HELO name). At most 255 characters.
std::string safe_token(const std::string& s) {
  std::string out;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view(".-_:[]@+=").find(c) != std::string_view::npos) {
      out += c;
    }
    if (out.size() == 255) break;
  }
  return out.empty() ? "unknown" : out;
}

}  // namespace

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string received_field(const TraceInfo& info) {
  std::string protocol = info.esmtp ? "ESMTP" : "SMTP";
  if (info.esmtp && info.tls) protocol += "S";
  if (info.esmtp && info.authenticated) protocol += "A";
  std::vector<std::string> words = {"from", safe_token(info.helo), "([" + safe_token(info.peer_ip) + "])",
                                    "by", safe_token(info.by_host), "(Sinetti)"};
  if (info.tls && !info.tls_protocol.empty()) {
    std::string tls = "(using " + safe_token(info.tls_protocol);
    if (!info.tls_cipher.empty()) tls += " with cipher " + safe_token(info.tls_cipher);
    words.push_back(tls + ")");
  }
  words.insert(words.end(), {"with", protocol, "id", safe_token(info.id)});
  if (!info.for_recipient.empty()) words.insert(words.end(), {"for", "<" + safe_token(info.for_recipient) + ">"});
  words.back() += ";";
  words.push_back(rfc5322_date(info.when));

  std::string out = "Received:";
  std::size_t column = out.size();
  for (const auto& w : words) {
    if (column + 1 + w.size() > 78 && column > 1) {
      out += "\r\n\t";
      column = 1;
      out += w;
      column += w.size();
    } else {
      out += ' ';
      out += w;
      column += 1 + w.size();
    }
  }
  out += "\r\n";
  return out;
}

}  // namespace sinetti::smtp
