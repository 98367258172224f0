#include "smtp/dsn.hpp"
#include "smtp/trace.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "crypto/random.hpp"
#include "smtp/encoding.hpp"

namespace sinetti::smtp {

namespace {

bool clean(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool has_8bit(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

std::string random_hex(std::size_t bytes) {
  std::array<std::uint8_t, 32> buf{};
  const std::size_t n = std::min(bytes, buf.size());
  crypto::random_bytes(std::span<std::uint8_t>(buf.data(), n));
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += hex[buf[i] >> 4];
    out += hex[buf[i] & 15];
  }
  return out;
}

// A header field, folded at spaces so lines stay near 78 characters (RFC 5322 §2.2.3); text with
// no space to fold at stays on one line (it is at most ReplyParser's capped diagnostic).
std::string field(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ": ";
  std::size_t line = out.size();
  std::size_t pos = 0;
  while (pos < value.size()) {
    auto space = value.find(' ', pos + 1);
    if (space == std::string_view::npos) space = value.size();
    const std::string_view word = value.substr(pos, space - pos);  // begins with the space, except the first
    if (line + word.size() > 78 && pos > 0 && word.front() == ' ') {
      out += "\r\n";
      line = 0;
    }
    out += word;
    line += word.size();
    pos = space;
  }
  out += "\r\n";
  return out;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The original header section: up to the first empty line, at most `cap` bytes, cut after the last
// complete line within the cap; every line end CRLF. Fields named in `omit` (with their
// continuation lines) are left out.
std::string header_section(std::string_view message, std::size_t cap, const std::vector<std::string>& omit) {
  std::string out;
  std::size_t pos = 0;
  bool omitting = false;
  auto omitted = [&](std::string_view line) {
    if (line.starts_with(' ') || line.starts_with('\t')) return omitting;  // a continuation line
    const auto colon = line.find(':');
    const std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
    omitting = std::any_of(omit.begin(), omit.end(), [&](const std::string& o) { return iequal(o, name); });
    return omitting;
  };
  while (pos < message.size()) {
    const auto nl = message.find('\n', pos);
    if (nl == std::string_view::npos) {
      // A last line without its end: keep it only if the message ends there (no body follows).
      std::string_view last = message.substr(pos);
      if (!last.empty() && last.back() == '\r') last.remove_suffix(1);
      if (!last.empty() && !omitted(last) && out.size() + last.size() + 2 <= cap) out.append(last).append("\r\n");
      break;
    }
    std::string_view line = message.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the end of the header section: the body is not ours to send
    pos = nl + 1;
    if (omitted(line)) continue;
    if (out.size() + line.size() + 2 > cap) break;
    out.append(line).append("\r\n");
  }
  return out;
}

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "\r\n";
    else out += c;
  }
  return out;
}

}  // namespace

std::vector<DsnRecipient> dsn_recipients(const client::DeliveryResult& attempt,
                                         std::chrono::system_clock::time_point attempted,
                                         std::optional<std::chrono::system_clock::time_point> retry_until) {
  // DeliveryResult::remote is "host[address]:port" for SMTP; a Maildir path has no remote MTA.
  const auto bracket = attempt.remote.find('[');
  const std::string host = bracket == std::string::npos ? std::string() : attempt.remote.substr(0, bracket);
  std::vector<DsnRecipient> out;
  for (const auto& r : attempt.recipients) {
    if (r.outcome == client::Outcome::delivered) continue;
    DsnRecipient d;
    d.recipient = r.recipient;
    d.action = r.outcome == client::Outcome::deferred && retry_until ? DsnAction::delayed : DsnAction::failed;
    d.status = r.status;
    d.diagnostic = r.diagnostic;
    d.diagnostic_from_server = r.reply_code != 0;
    if (d.diagnostic_from_server) d.remote_mta = host;
    d.last_attempt = attempted;
    if (d.action == DsnAction::delayed) d.will_retry_until = retry_until;
    out.push_back(std::move(d));
  }
  return out;
}

Result<Dsn> build_dsn(const DsnRequest& req) {
  if (req.original_sender.empty()) {
    return make_error("refusing to build a DSN for a message whose sender was <> (RFC 5321 §4.5.5)");
  }
  if (req.recipients.empty()) return make_error("a DSN needs at least one recipient to report");
  if (!clean(req.original_sender) || !clean(req.reporting_mta) || !clean(req.from) ||
      !clean(req.original_envelope_id) || req.reporting_mta.empty() || req.from.empty()) {
    return make_error("DSN: an address or name contains control characters, or is empty");
  }
  bool any_failed = false, any_delayed = false;
  for (const auto& r : req.recipients) {
    if (!clean(r.recipient) || !clean(r.status) || !clean(r.remote_mta) || !clean(r.diagnostic)) {
      return make_error("DSN: a recipient field contains control characters");
    }
    (r.action == DsnAction::failed ? any_failed : any_delayed) = true;
  }

  // The human-readable part: Finnish first (the default language), then English.
  auto list = [&](DsnAction action) {
    std::string out;
    for (const auto& r : req.recipients) {
      if (r.action == action) out += "  <" + r.recipient + ">: " + r.diagnostic + "\n";
    }
    return out;
  };
  std::string until;
  for (const auto& r : req.recipients) {
    if (r.will_retry_until) until = rfc5322_date(*r.will_retry_until);
  }
  std::string text = "Tämä on automaattinen ilmoitus postijärjestelmästä " + req.reporting_mta + ".\n\n";
  if (any_failed) {
    text += "Viestiäsi ei voitu toimittaa seuraaville vastaanottajille, eikä toimitusta enää yritetä:\n" +
            list(DsnAction::failed) + "\n";
  }
  if (any_delayed) {
    text += "Viestiäsi ei ole vielä voitu toimittaa seuraaville vastaanottajille. Toimitusta yritetään " +
            (until.empty() ? std::string("vielä") : until + " asti") +
            "; sinun ei tarvitse lähettää viestiä uudelleen:\n" + list(DsnAction::delayed) + "\n";
  }
  text += "Alkuperäisen viestin otsikkotiedot ovat liitteenä; viestin sisältöä ei liitetä.\n\n";
  text += "This is an automatic notice from the mail system at " + req.reporting_mta + ".\n\n";
  if (any_failed) {
    text += "Your message could not be delivered to the recipients below, and no further attempts will be made:\n" +
            list(DsnAction::failed) + "\n";
  }
  if (any_delayed) {
    text += "Your message has not yet been delivered to the recipients below. Delivery will be retried " +
            (until.empty() ? std::string("for a while") : "until " + until) +
            "; you do not need to send it again:\n" + list(DsnAction::delayed) + "\n";
  }
  text += "The original message's headers are attached; its content is not.\n";

  // message/delivery-status (RFC 3464 §2.2 per-message, §2.3 per-recipient fields).
  std::string status = field("Reporting-MTA", "dns; " + req.reporting_mta);
  if (!req.original_envelope_id.empty()) status += field("Original-Envelope-Id", req.original_envelope_id);
  status += field("Arrival-Date", rfc5322_date(req.arrival_date));
  for (const auto& r : req.recipients) {
    status += "\r\n";
    status += field("Final-Recipient", "rfc822; " + r.recipient);
    status += field("Action", r.action == DsnAction::failed ? "failed" : "delayed");
    status += field("Status", r.status);
    if (!r.remote_mta.empty()) status += field("Remote-MTA", "dns; " + r.remote_mta);
    if (!r.diagnostic.empty()) {
      status += field("Diagnostic-Code", (r.diagnostic_from_server ? "smtp; " : "X-Sinetti; ") + r.diagnostic);
    }
    status += field("Last-Attempt-Date", rfc5322_date(r.last_attempt));
    if (r.will_retry_until) status += field("Will-Retry-Until", rfc5322_date(*r.will_retry_until));
  }

  // The original header section only — never the body (see the header comment).
  const std::string headers = header_section(req.original_message, DsnRequest::max_original_headers, req.omit_fields);
  const bool headers_8bit = has_8bit(headers);
  const std::string headers_part = headers_8bit ? quoted_printable_encode(headers) : headers;
  const std::string text_part = quoted_printable_encode(crlf(text));

  std::string boundary;
  do {
    boundary = "=_sinetti_" + random_hex(12);
  } while (headers_part.find(boundary) != std::string::npos || status.find(boundary) != std::string::npos);

  const std::string subject = any_failed
                                  ? (any_delayed ? "Viestiä ei voitu toimittaa kaikille / Undelivered mail"
                                                 : "Viestiä ei voitu toimittaa / Undelivered mail")
                                  : "Viestin toimitus viivästyy / Delayed mail";
  std::string m;
  m += field("From", "Mail Delivery System <" + req.from + ">");
  m += field("To", "<" + req.original_sender + ">");
  m += "Subject: " + encode_header_words(subject) + "\r\n";
  m += field("Date", rfc5322_date(req.date));
  m += field("Message-ID", "<" + random_hex(16) + "@" + req.reporting_mta + ">");
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n boundary=\"" + boundary + "\"\r\n";
  m += "\r\nThis is a delivery status notification (RFC 3464).\r\n";
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += text_part;
  if (!m.ends_with("\r\n")) m += "\r\n";
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: message/delivery-status\r\n\r\n";
  m += status;
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/rfc822-headers\r\n";
  m += headers_8bit ? "Content-Transfer-Encoding: quoted-printable\r\n\r\n" : "\r\n";
  m += headers_part;
  if (!m.ends_with("\r\n")) m += "\r\n";
  m += "\r\n--" + boundary + "--\r\n";

  Dsn dsn;
  dsn.envelope.sender.clear();
  dsn.envelope.recipients = {req.original_sender};
  dsn.envelope.size = m.size();
  dsn.envelope.eight_bit = false;
  dsn.message = std::move(m);
  return dsn;
}

}  // namespace sinetti::smtp
