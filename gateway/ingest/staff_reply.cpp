#include "gateway/ingest/staff_reply.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "crypto/tokens.hpp"

namespace sinetti::ingest {
namespace {

smtp::Reply unknown_address() { return smtp::Reply{550, "5.1.1", {"No such reply address"}}; }
smtp::Reply not_the_handler() {
  return smtp::Reply{550, "5.7.1", {"Only the staff member handling this conversation can reply to it"}};
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// "-----Original Message-----", "----- Alkuperäinen viesti -----", "-------- Forwarded message --------".
bool is_separator(std::string_view line) {
  if (!line.starts_with("---") && !line.starts_with("___")) return false;
  const std::string l = lower(line);
  for (std::string_view word : {"original", "alkuper", "ursprung", "forwarded", "välitetty", "vidarebefordrat"}) {
    if (l.find(word) != std::string::npos) return true;
  }
  return line.find_first_not_of("-_ ") == std::string_view::npos && line.size() >= 20;  // Outlook's rule
}

// "From: ..." followed by "Sent:"/"Date:"/"Lähetetty:"/"Skickat:" on the next line.
bool is_header_block(std::string_view line, std::string_view next) {
  const bool from = starts_with_ci(line, "from:") || starts_with_ci(line, "lähettäjä:") || starts_with_ci(line, "från:");
  if (!from) return false;
  for (std::string_view f : {"sent:", "date:", "lähetetty:", "päivämäärä:", "skickat:", "datum:", "to:"}) {
    if (starts_with_ci(next, f)) return true;
  }
  return false;
}

// "On ..., X wrote:", "ti 1.12.2026 klo 10.00 X kirjoitti:", "Den 1 dec. 2026 skrev X <x@y>:".
bool is_attribution(std::string_view line) {
  if (!line.ends_with(':')) return false;
  const std::string l = lower(line);
  return l.find("wrote") != std::string::npos || l.find("kirjoitti") != std::string::npos ||
         l.find("skrev") != std::string::npos;
}

}  // namespace

Result<StaffReplyCheck> check_staff_reply(store::Store& store, const config::Config& config, const std::string& token,
                                          std::string_view sender, std::chrono::system_clock::time_point now) {
  const auto digest = crypto::token_hash(token);
  store::Hash h{};
  std::copy(digest.begin(), digest.end(), h.begin());
  auto t = store.find_token(h);
  if (!t) return t.error();
  const store::Timestamp at = store::to_timestamp(now);
  if (!*t || (*t)->purpose != store::TokenPurpose::reply || (*t)->revoked || (*t)->expires <= at) {
    return StaffReplyCheck{unknown_address()};
  }
  auto message = store.find_message((*t)->message_id);
  if (!message) return message.error();
  if (!*message || (*message)->thread_id.empty()) return StaffReplyCheck{unknown_address()};
  auto thread = store.find_thread((*message)->thread_id);
  if (!thread) return thread.error();
  if (!*thread || (*thread)->state != store::ThreadState::open || ((*thread)->expires && *(*thread)->expires <= at)) {
    return StaffReplyCheck{unknown_address()};
  }
  const config::Team* team = config.find_team((*thread)->team_id);
  if (team == nullptr) return StaffReplyCheck{unknown_address()};  // the team left the configuration
  auto claim = store.find_claim((*t)->message_id);
  if (!claim) return claim.error();
  if (!*claim || (*claim)->team_id != team->id || (*claim)->staff_email.empty() ||
      lower((*claim)->staff_email) != lower(sender)) {
    return StaffReplyCheck{not_the_handler()};
  }
  StaffReplyTarget target;
  target.thread = std::move(**thread);
  target.claim = std::move(**claim);
  target.team = team;
  target.message_id = (*t)->message_id;
  return StaffReplyCheck{std::move(target)};
}

std::string strip_quoted_text(std::string_view text, std::string_view link_prefix) {
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos <= text.size();) {
    const auto nl = text.find('\n', pos);
    const auto end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  std::vector<std::string_view> kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view t = trim(lines[i]);
    const std::string_view next = i + 1 < lines.size() ? trim(lines[i + 1]) : std::string_view();
    if (t.starts_with(">")) break;
    if (is_separator(t) || is_header_block(t, next)) break;
    if (is_attribution(t) && (next.empty() || next.starts_with(">"))) {
      // Wrapped over two lines ("On Tue, 1 Dec 2026, Sinetti <...>" / "wrote:"): drop the first half.
      if (t.find(' ') == std::string_view::npos && !kept.empty()) kept.pop_back();
      break;
    }
    kept.push_back(lines[i]);
  }
  while (!kept.empty() && trim(kept.back()).empty()) kept.pop_back();
  std::string out;
  for (const auto& line : kept) {
    if (!link_prefix.empty() && line.find(link_prefix) != std::string_view::npos) continue;
    out.append(line).append("\r\n");
  }
  return out;
}

}  // namespace sinetti::ingest
