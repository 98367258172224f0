#include "smtp/client/reply.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sinetti::smtp::client {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reply text reaches logs and DSNs: tabs become spaces, other controls and 8-bit bytes '?'.
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '\t') c = ' ';
    else if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return out;
}

// RFC 3463 §2: class "." subject "." detail, subject and detail 1-3 digits. Returns its length.
std::size_t enhanced_code_length(std::string_view text, int reply_kind) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + reply_kind) || text[1] != '.') return 0;
  std::size_t i = 2;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i]) && i - start < 3) ++i;
    return i > start && (i == text.size() || !is_digit(text[i]));
  };
  if (!digits() || i >= text.size() || text[i] != '.') return 0;
  ++i;
  if (!digits()) return 0;
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

std::string ServerReply::diagnostic() const {
  std::string text;
  for (const auto& line : lines) {
    if (line.empty()) continue;
    if (!text.empty()) text += "; ";
    text += line;
  }
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  if (!text.empty()) out += " " + text;
  if (out.size() > max_diagnostic) {
    out.resize(max_diagnostic - 3);
    out += "...";
  }
  return out;
}

std::string ServerReply::status() const {
  if (!enhanced.empty()) return enhanced;
  return std::to_string(kind()) + ".0.0";
}

ReplyParser::Status ReplyParser::fail(std::string why) {
  error_ = std::move(why);
  line_.clear();
  lines_.clear();
  return Status::error;
}

ReplyParser::Status ReplyParser::parse(std::string_view& input) {
  if (!error_.empty()) return Status::error;
  if (ready_) return Status::reply;
  while (!input.empty()) {
    const auto eol = input.find('\n');
    const std::size_t take = eol == std::string_view::npos ? input.size() : eol;
    // +1 for the terminator itself: max_line counts CRLF (a bare LF is taken as CRLF).
    if (line_.size() + take + (eol == std::string_view::npos ? 0 : 1) > limits_.max_line) {
      return fail("reply line longer than " + std::to_string(limits_.max_line) + " bytes");
    }
    line_.append(input.substr(0, take));
    if (eol == std::string_view::npos) {
      input.remove_prefix(take);
      return Status::need_more;
    }
    input.remove_prefix(take + 1);
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    const Status s = finish_line();
    if (s != Status::need_more) return s;
  }
  return Status::need_more;
}

ReplyParser::Status ReplyParser::finish_line() {
  const std::string_view line = line_;
  // RFC 5321 §4.2: three digits, then SP (last line), "-" (more follow) or nothing (last line).
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) || line[0] < '2' ||
      line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    return fail("malformed reply line");
  }
  int code = 0;
  std::from_chars(line.data(), line.data() + 3, code);
  if (!lines_.empty() && code != code_) return fail("reply codes differ within a multiline reply");
  code_ = code;
  const bool last = line.size() == 3 || line[3] == ' ';
  if (lines_.size() >= limits_.max_lines) {
    return fail("reply longer than " + std::to_string(limits_.max_lines) + " lines");
  }
  lines_.push_back(printable(line.size() > 4 ? line.substr(4) : std::string_view{}));
  line_.clear();
  if (!last) return Status::need_more;

  reply_ = ServerReply{};
  reply_.code = code_;
  const std::size_t n = enhanced_code_length(lines_.front(), code_ / 100);
  if (n > 0) reply_.enhanced = lines_.front().substr(0, n);
  for (auto& l : lines_) {
    // Strip the enhanced code from every line that repeats it (RFC 2034 §4 puts it on each line).
    if (!reply_.enhanced.empty() && l.starts_with(reply_.enhanced) &&
        (l.size() == reply_.enhanced.size() || l[reply_.enhanced.size()] == ' ')) {
      l.erase(0, std::min(l.size(), reply_.enhanced.size() + 1));
    }
    reply_.lines.push_back(std::move(l));
  }
  lines_.clear();
  ready_ = true;
  return Status::reply;
}

ServerReply ReplyParser::take_reply() {
  ready_ = false;
  return std::move(reply_);
}

bool Capabilities::offers_auth(std::string_view mechanism) const {
  return std::find(auth.begin(), auth.end(), mechanism) != auth.end();
}

Capabilities parse_ehlo(const ServerReply& reply) {
  Capabilities caps;
  caps.esmtp = true;
  // The first line is the server's greeting (its domain); keywords follow, one a line.
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = reply.lines[i];
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    // Some servers write "AUTH=PLAIN LOGIN" (pre-RFC 4954 syntax); read it as AUTH.
    const auto end = line.find_first_of(" =");
    const std::string keyword = upper(line.substr(0, end));
    const std::string_view params = end == std::string_view::npos ? std::string_view{} : line.substr(end + 1);
    if (keyword == "STARTTLS") caps.starttls = true;
    else if (keyword == "PIPELINING") caps.pipelining = true;
    else if (keyword == "8BITMIME") caps.eight_bit_mime = true;
    else if (keyword == "ENHANCEDSTATUSCODES") caps.enhanced_status_codes = true;
    else if (keyword == "SMTPUTF8") caps.smtputf8 = true;
    else if (keyword == "SIZE") {
      caps.size = true;
      std::uint64_t limit = 0;
      const auto [ptr, ec] = std::from_chars(params.data(), params.data() + params.size(), limit);
      if (ec == std::errc{} && ptr == params.data() + params.size()) caps.max_size = limit;
    } else if (keyword == "AUTH") {
      std::size_t pos = 0;
      while (pos < params.size()) {
        const auto next = params.find(' ', pos);
        const auto word = params.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        if (!word.empty()) {
          std::string mech = upper(word);
          if (!caps.offers_auth(mech) && caps.auth.size() < 32) caps.auth.push_back(std::move(mech));
        }
        if (next == std::string_view::npos) break;
        pos = next + 1;
      }
    }
  }
  return caps;
}

}  // namespace sinetti::smtp::client
