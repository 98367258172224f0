#include "gateway/portal/sender_notice.hpp"

#include <nlohmann/json.hpp>

#include "gateway/ingest/ids.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "smtp/mime/compose.hpp"

namespace sinetti::portal {

store::Status queue_sender_notice(const PortalContext& ctx, const store::MessageMeta& message,
                                  const store::ReadToken& link, SenderNotice notice, const std::string& phone_tail) {
  if (message.sender.empty()) return store::ok_status();
  const auto& c = ctx.config;
  const auto language = c.instance.default_language;
  const char* kind = notice == SenderNotice::pin_missing ? "pin_missing" : "locked";
  i18n::TemplateMap values{{"organisation", c.instance.name},
                           {"message_ref", message.id},
                           {"recipient", link.recipient},
                           {"phone_tail", phone_tail},
                           {"pin_missing", notice == SenderNotice::pin_missing},
                           {"locked", notice == SenderNotice::locked}};
  auto rendered = ctx.templates.render_mail("sender-notice", language, values);
  if (!rendered) return rendered.error();

  const auto now = ctx.clock.now();
  const std::string id = ingest::new_message_id(ctx.clock);
  mime::OutgoingText mail;
  mail.from = {c.notifications.from_name.empty() ? c.instance.name : c.notifications.from_name, c.notification_from()};
  mail.to = {{"", message.sender}};
  mail.subject = rendered->subject;
  mail.body = rendered->body;
  std::string host = c.public_host();
  if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
  mail.message_id = id + "@" + host;
  mail.date = now;
  mail.language = config::to_string(language);
  // RFC 3834: generated, so auto-responders stay quiet.
  mail.headers = {{"Auto-Submitted", "auto-generated"}, {"X-Sinetti-Notification", "sender"}};
  auto text = mime::compose_text(mail);
  if (!text) return text.error();

  auto key = crypto::DataKey::generate();
  store::MessageMeta nm;
  nm.id = id;
  nm.kind = store::MessageKind::notification;
  nm.recipients = {message.sender};
  nm.thread_id = message.thread_id;
  nm.language = config::to_string(language);
  nm.size = text->size();
  nm.expires = store::to_timestamp(now) + c.delivery.lifetime + std::chrono::hours(24);
  nm.wrapped_key = ctx.ring.wrap(key, id);
  nm.kek_id = ctx.ring.active_kek();
  store::CommitBatch batch;
  batch.messages.push_back(store::MessageCommit{id, nm, sealed::seal_pieces(key, id, *text), text->size()});
  store::QueueEntry q;
  q.message_id = id;
  q.recipient = message.sender;
  q.kind = store::DeliveryKind::notification;
  batch.queue.push_back(q);
  batch.audit.push_back({"notification.queued", message.id, "client", "ok",
                         nlohmann::json{{"notification", id}, {"notice", kind}, {"recipient_index", link.recipient_index}}.dump()});
  if (auto s = ctx.store.commit(std::move(batch)); !s) return s.error();
  ctx.logger.info("portal_sender_notice", {{"message", message.id}, {"notice", kind}, {"notification", id}});
  return store::ok_status();
}

}  // namespace sinetti::portal
