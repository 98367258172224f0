#include "gateway/portal/client_message.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "crypto/primitives.hpp"
#include "crypto/sealed_stream.hpp"
#include "crypto/tokens.hpp"
#include "gateway/ingest/ids.hpp"
#include "gateway/ingest/notification.hpp"
#include "gateway/routing/reply_address.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "smtp/mime/compose.hpp"
#include "smtp/mime/text.hpp"

namespace sinetti::portal {

namespace {

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A file name as the browser gave it: its last path segment, UTF-8, at most 255 bytes.
std::string file_name(const FormPart& f) {
  std::string name = f.filename.value_or("");
  if (const auto slash = name.find_last_of("/\\"); slash != std::string::npos) name = name.substr(slash + 1);
  if (name.empty() || name.size() > 255 || !mime::text::is_valid_utf8(name) || has_control(name)) name = "attachment";
  return name;
}

// The declared type when it looks like type/subtype, else application/octet-stream.
std::string file_type(const FormPart& f) {
  const std::string& t = f.content_type;
  const bool plausible = t.find('/') != std::string::npos && t.size() < 128 &&
                         std::all_of(t.begin(), t.end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                                  std::string_view("/.+-_").find(c) != std::string_view::npos;
                         });
  return plausible ? t : "application/octet-stream";
}

std::string host_of(const config::Config& c) {
  std::string h = c.public_host();
  if (h.starts_with('[')) h = h.substr(1, h.size() - 2);
  return h;
}

store::Hash hash_token(const std::string& token) {
  store::Hash out{};
  const auto h = crypto::token_hash(token);
  std::copy(h.begin(), h.end(), out.begin());
  return out;
}

// The From line of the stored mail: no address of the client exists, so the gateway's own address
// with a name that says who wrote it.
const char* client_label(config::Language l) {
  switch (l) {
    case config::Language::fi: return "Tunnistautunut asiakas";
    case config::Language::sv: return "Identifierad klient";
    case config::Language::en: return "Identified client";
  }
  return "";
}

// The subject of a further message in a thread (the form asks for none).
const char* follow_up_label(config::Language l) {
  switch (l) {
    case config::Language::fi: return "Jatkoviesti";
    case config::Language::sv: return "Uppföljande meddelande";
    case config::Language::en: return "Follow-up message";
  }
  return "";
}

}  // namespace

std::string trim_trailing_space(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) text.pop_back();
  return text;
}

std::string team_display_name(const config::Team& team, config::Language language) {
  if (const auto it = team.name.find(language); it != team.name.end()) return it->second;
  return team.name.empty() ? team.id : team.name.begin()->second;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lower(address.substr(at + 1));
}

bool atom_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool dot_atom(std::string_view s, bool ldh) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.') {
      if (s[i - 1] == '.') return false;
      if (ldh && (s[i - 1] == '-' || s[i + 1] == '-' || label > 63)) return false;
      label = 0;
      continue;
    }
    ++label;
    if (ldh ? !(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-') : !atom_char(c)) return false;
  }
  if (ldh && (s.front() == '-' || s.back() == '-' || label > 63)) return false;
  return true;
}

}  // namespace

bool plain_address(std::string_view a) {
  if (a.empty() || a.size() > max_client_address) return false;
  const auto at = a.find('@');
  if (at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos) return false;
  const auto local = a.substr(0, at);
  const auto domain = a.substr(at + 1);
  if (local.size() > 64) return false;
  return dot_atom(local, false) && dot_atom(domain, true) && domain.find('.') != std::string_view::npos;
}

bool own_address(const config::Config& cfg, std::string_view address) {
  const std::string a = lower(address);
  const std::string domain = domain_of(a);
  std::vector<std::string> domains = {domain_of(cfg.notification_from()), lower(cfg.reply_domain()), lower(host_of(cfg))};
  for (const auto& l : cfg.listeners) {
    for (const auto& d : l.domains) domains.push_back(lower(d));
  }
  for (const auto& t : cfg.teams) {
    if (a == lower(t.address) || a == lower(t.mailbox)) return true;
    domains.push_back(domain_of(t.address));
  }
  return std::find(domains.begin(), domains.end(), domain) != domains.end();
}

DraftErrors check_draft(const config::Config& config, const ClientDraft& d, bool with_team_and_subject) {
  DraftErrors e;
  if (with_team_and_subject) {
    e.team_unknown = config.find_team(d.team_id) == nullptr;
    e.subject_empty = blank(d.subject);
    e.subject_long = d.subject.size() > max_client_subject;
    e.subject_encoding = !e.subject_empty && !e.subject_long && (!mime::text::is_valid_utf8(d.subject) || has_control(d.subject));
    if (!d.address.empty()) {
      e.address_invalid = !plain_address(d.address);
      e.address_ours = !e.address_invalid && own_address(config, d.address);
    }
  }
  e.text_empty = blank(d.text);
  e.text_long = d.text.size() > max_client_text;
  e.text_encoding = !e.text_empty && !e.text_long && !mime::text::is_valid_utf8(d.text);
  e.files_many = d.files.size() > max_client_files;
  std::uint64_t bytes = 0;
  for (const FormPart* f : d.files) bytes += f->data.size();
  e.files_large = !e.files_many && bytes > config.portal.max_body_size;
  return e;
}

bool written_by_client(const config::Config& config, const store::MessageMeta& m) {
  if (m.kind != store::MessageKind::protected_message || !m.sender.empty() || m.unlock.kind == store::UnlockKind::identity) {
    return false;
  }
  // Ingest's team copies name the address the mail was sent to (the team's public address).
  const config::Team* team = config.find_team(m.team_id);
  return team != nullptr && m.recipients.size() == 1 && m.recipients.front() == team->mailbox;
}

Result<ClientMessage> build_client_message(const PortalContext& ctx, const config::Team& team, const store::Thread* thread,
                                           const auth::Identity& client, config::Language language,
                                           const ClientDraft& draft) {
  const config::Config& cfg = ctx.config;
  const auto now = ctx.clock.now();
  const auto link_expires = now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.unlock.link_ttl);
  const auto message_expires =
      now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.retention.protected_messages);
  const auto transient_expires =
      now + std::chrono::duration_cast<std::chrono::system_clock::duration>(cfg.delivery.lifetime + std::chrono::hours(24));

  ClientMessage out;
  out.message_id = ingest::new_message_id(ctx.clock);
  const std::string& id = out.message_id;
  out.thread_id = thread != nullptr ? thread->id : id;
  const std::string host = host_of(cfg);

  mime::OutgoingText mail;
  mail.from = {client_label(cfg.instance.default_language), cfg.notification_from()};
  mail.to = {{team_display_name(team, cfg.instance.default_language), team.mailbox}};
  std::string subject = draft.subject;
  if (subject.empty()) subject = follow_up_label(cfg.instance.default_language);
  for (char& c : subject) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  mail.subject = subject;
  mail.body = draft.text + "\n";
  mail.message_id = id + "@" + host;
  mail.date = now;
  mail.language = config::to_string(language);
  mail.headers = {{"X-Sinetti-Thread", out.thread_id}, {"Auto-Submitted", "no"}};
  std::uint64_t file_bytes = 0;
  for (const FormPart* f : draft.files) {
    mail.attachments.push_back({file_name(*f), file_type(*f), std::string(f->data)});
    file_bytes += f->data.size();
  }
  auto composed = mime::compose_text(mail);
  for (auto& a : mail.attachments) crypto::secure_wipe(a.data);
  crypto::secure_wipe(mail.body);
  if (!composed) return composed.error();

  store::CommitBatch& batch = out.batch;
  if (thread == nullptr) {
    store::Thread t;
    t.id = out.thread_id;
    t.team_id = team.id;
    t.client_identity = client.identity_key;
    t.client_address = draft.address;  // empty: no notifications, the client reads in /threads
    t.language = config::to_string(language);
    t.expires = store::to_timestamp(message_expires);
    batch.threads.push_back(std::move(t));
    batch.audit.push_back({"thread.created", id, "client", "ok",
                           nlohmann::json{{"thread", out.thread_id}, {"team", team.id}, {"provider", client.provider}}.dump()});
  }
  {
    auto key = crypto::DataKey::generate();
    store::MessageMeta meta;
    meta.id = id;
    meta.kind = store::MessageKind::protected_message;
    meta.protection = store::ProtectionLevel::letter;
    meta.unlock.kind = store::UnlockKind::device;
    meta.recipients = {team.mailbox};
    meta.team_id = team.id;
    meta.thread_id = out.thread_id;
    meta.language = config::to_string(language);
    meta.size = composed->size();
    meta.expires = store::to_timestamp(message_expires);
    meta.wrapped_key = ctx.ring.wrap(key, id);
    meta.kek_id = ctx.ring.active_kek();
    batch.messages.push_back(store::MessageCommit{id, meta, sealed::seal_pieces(key, id, *composed), composed->size()});
    crypto::secure_wipe(*composed);
  }
  batch.audit.push_back({"message.stored", id, "client", "ok",
                         nlohmann::json{{"level", "letter"},
                                        {"team", team.id},
                                        {"thread", out.thread_id},
                                        {"via", "portal"},
                                        {"attachments", draft.files.size()},
                                        {"bytes", draft.text.size() + file_bytes}}
                             .dump()});

  // The team's read link and the thread's reply address, as ingest makes them for a team copy.
  const std::string token = crypto::generate_token();
  store::ReadToken t;
  t.token_hash = hash_token(token);
  t.message_id = id;
  t.recipient = team.mailbox;
  t.recipient_index = 0;
  t.purpose = store::TokenPurpose::read;
  t.expires = store::to_timestamp(link_expires);
  batch.tokens.push_back(t);
  const std::string reply_token = crypto::generate_token();
  store::ReadToken rt = t;
  rt.token_hash = hash_token(reply_token);
  rt.purpose = store::TokenPurpose::reply;
  batch.tokens.push_back(rt);

  const std::string notification_id = ingest::new_message_id(ctx.clock);
  ingest::NotificationRequest n;
  n.config = &cfg;
  n.templates = &ctx.templates;
  n.language = cfg.instance.default_language;
  n.to = team.mailbox;
  n.team = &team;
  n.for_team = true;
  n.token = token;
  n.message_ref = id;
  n.level = config::ProtectionLevel::letter;
  n.original_subject = subject;  // shown only with notifications.include_subject
  n.expires = link_expires;
  n.now = now;
  n.message_id = notification_id + "@" + host;
  n.reply_to = routing::reply_address(reply_token, cfg.reply_domain());
  auto note = ingest::compose_notification(n);
  if (!note) return note.error();
  {
    auto key = crypto::DataKey::generate();
    store::MessageMeta nm;
    nm.id = notification_id;
    nm.kind = store::MessageKind::notification;
    nm.recipients = {team.mailbox};
    nm.thread_id = out.thread_id;
    nm.language = config::to_string(n.language);
    nm.size = note->size();
    nm.expires = store::to_timestamp(transient_expires);
    nm.wrapped_key = ctx.ring.wrap(key, notification_id);
    nm.kek_id = ctx.ring.active_kek();
    batch.messages.push_back(store::MessageCommit{notification_id, nm, sealed::seal_pieces(key, notification_id, *note), note->size()});
  }
  store::QueueEntry q;
  q.message_id = notification_id;
  q.recipient = team.mailbox;
  q.kind = store::DeliveryKind::notification;
  batch.queue.push_back(q);
  batch.audit.push_back({"notification.queued", id, "client", "ok",
                         nlohmann::json{{"notification", notification_id}, {"recipient_index", 0}}.dump()});
  return out;
}

}  // namespace sinetti::portal
