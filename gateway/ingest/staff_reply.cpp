#include "gateway/ingest/staff_reply.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/tokens.hpp"
#include "gateway/ingest/ids.hpp"
#include "gateway/ingest/notification.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "smtp/mime/compose.hpp"

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

std::vector<std::string> portal_link_prefixes(const config::Config& config) {
  std::string base = config.instance.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return {base + "/m/", base + "/staff/m/"};
}

std::string strip_quoted_text(std::string_view text, const std::vector<std::string>& link_prefixes) {
  std::string out = strip_quoted_text(text, std::string_view());
  return drop_link_lines(out, link_prefixes);
}

std::string drop_link_lines(std::string_view text, const std::vector<std::string>& link_prefixes) {
  std::string out;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto nl = text.find('\n', pos);
    const auto end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    const bool linked = std::any_of(link_prefixes.begin(), link_prefixes.end(), [&](const std::string& p) {
      return !p.empty() && line.find(p) != std::string_view::npos;
    });
    if (!linked) out.append(line).append("\r\n");
  }
  return out;
}

Result<store::CommitBatch> build_staff_reply(const StaffReplyInput& in) {
  const config::Config& cfg = in.config;
  const crypto::KeyRing& ring = in.ring;
  const auto now = in.clock.now();
  const store::Thread& thread = in.target.thread;
  const config::Team& team = *in.target.team;
  const std::string& reply_id = in.reply_id;
  const std::string channel = in.listener.empty() ? std::string("portal") : "smtp:" + in.listener;
  config::Language language = cfg.instance.default_language;
  for (auto l : {config::Language::fi, config::Language::sv, config::Language::en}) {
    if (thread.language == config::to_string(l)) language = l;
  }
  std::string host = cfg.public_host();
  if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
  auto ts = [](std::chrono::system_clock::time_point t) { return store::to_timestamp(t); };

  mime::OutgoingText mail;
  const std::string team_name = team.name.contains(language) ? team.name.at(language) : team.id;
  mail.from = {team_name, team.address.empty() ? cfg.notification_from() : team.address};
  mail.to = {{"", thread.client_address.empty() ? mail.from.address : thread.client_address}};
  mail.subject = in.subject;
  for (char& c : mail.subject) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  mail.body = in.text;
  mail.message_id = reply_id + "@" + host;
  mail.date = now;
  mail.language = config::to_string(language);
  mail.attachments = in.attachments;
  auto content = mime::compose_text(mail);
  if (!content) return content.error();

  const auto link_expires = now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.unlock.link_ttl);
  const auto message_expires =
      now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.retention.protected_messages);
  const auto transient_expires =
      now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.delivery.lifetime + std::chrono::hours(24));
  const bool personal = !thread.client_identity.empty();

  store::CommitBatch batch;
  {
    auto key = crypto::DataKey::generate();
    store::MessageMeta meta;
    meta.id = reply_id;
    meta.kind = store::MessageKind::protected_message;
    meta.protection = personal ? store::ProtectionLevel::personal : store::ProtectionLevel::letter;
    meta.unlock.kind = personal ? store::UnlockKind::identity : store::UnlockKind::device;
    meta.unlock.identity_hash = thread.client_identity;
    meta.sender = in.sender;
    if (!thread.client_address.empty()) meta.recipients = {thread.client_address};
    meta.team_id = team.id;
    meta.thread_id = thread.id;
    meta.language = config::to_string(language);
    meta.expires = ts(message_expires);
    meta.wrapped_key = ring.wrap(key, reply_id);
    meta.kek_id = ring.active_kek();
    meta.size = content->size();
    store::MessageCommit mc;
    mc.id = reply_id;
    mc.size = content->size();
    mc.chunks = sealed::seal_pieces(key, reply_id, *content);
    mc.meta = std::move(meta);
    batch.messages.push_back(std::move(mc));
  }
  nlohmann::json details = {{"thread", thread.id},
                            {"team", team.id},
                            {"via", in.via},
                            {"in_reply_to", in.target.message_id},
                            {"level", personal ? "personal" : "letter"}};
  if (!in.listener.empty()) details["listener"] = in.listener;
  if (!in.attachments.empty()) details["attachments"] = in.attachments.size();
  batch.audit.push_back({"thread.reply", reply_id, "staff:" + in.target.claim.staff_subject, "ok", details.dump()});
  if (thread.client_address.empty()) return batch;  // read in the portal's thread view only

  const std::string token = crypto::generate_token();
  store::ReadToken t;
  const auto h = crypto::token_hash(token);
  std::copy(h.begin(), h.end(), t.token_hash.begin());
  t.message_id = reply_id;
  t.recipient = thread.client_address;
  t.purpose = store::TokenPurpose::read;
  t.expires = ts(link_expires);
  batch.tokens.push_back(t);

  const std::string notification_id = new_message_id(in.clock);
  NotificationRequest n;
  n.config = &cfg;
  n.templates = &in.templates;
  n.language = language;
  n.to = thread.client_address;
  n.team = &team;
  n.token = token;
  n.message_ref = reply_id;
  n.level = personal ? config::ProtectionLevel::personal : config::ProtectionLevel::letter;
  n.original_subject = in.subject;
  n.sender = team.address;
  n.expires = link_expires;
  n.now = now;
  n.message_id = notification_id + "@" + host;
  auto note = compose_notification(n);
  if (!note) return note.error();
  {
    auto key = crypto::DataKey::generate();
    store::MessageMeta nm;
    nm.id = notification_id;
    nm.kind = store::MessageKind::notification;
    nm.sender = in.sender;  // a bounce of the client's notification goes to the staff member
    nm.recipients = {thread.client_address};
    nm.thread_id = thread.id;
    nm.language = config::to_string(language);
    nm.expires = ts(transient_expires);
    nm.wrapped_key = ring.wrap(key, notification_id);
    nm.kek_id = ring.active_kek();
    nm.size = note->size();
    store::MessageCommit mc;
    mc.id = notification_id;
    mc.size = note->size();
    mc.chunks = sealed::seal_pieces(key, notification_id, *note);
    mc.meta = std::move(nm);
    batch.messages.push_back(std::move(mc));
  }
  store::QueueEntry q;
  q.message_id = notification_id;
  q.sender = in.sender;
  q.recipient = thread.client_address;
  q.kind = store::DeliveryKind::notification;
  batch.queue.push_back(q);
  batch.audit.push_back({"notification.queued", reply_id, channel, "ok",
                         nlohmann::json{{"notification", notification_id}, {"recipient_index", 0}}.dump()});
  return batch;
}

}  // namespace sinetti::ingest
