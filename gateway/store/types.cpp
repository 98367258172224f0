// Stable text forms of the store's enums: one table per enum, used both ways.
#include "gateway/store/types.hpp"

#include <utility>

namespace sinetti::store {

namespace {

template <typename E>
struct Name {
  E value;
  std::string_view text;
};

constexpr Name<MessageKind> message_kinds[] = {
    {MessageKind::protected_message, "protected"},
    {MessageKind::spool, "spool"},
    {MessageKind::notification, "notification"},
    {MessageKind::dsn, "dsn"},
};
constexpr Name<MessageState> message_states[] = {
    {MessageState::receiving, "receiving"}, {MessageState::stored, "stored"},
    {MessageState::locked, "locked"},       {MessageState::shredded, "shredded"},
    {MessageState::revoked, "revoked"},     {MessageState::expired, "expired"},
};
constexpr Name<ProtectionLevel> protection_levels[] = {
    {ProtectionLevel::none, "none"},
    {ProtectionLevel::letter, "letter"},
    {ProtectionLevel::sms, "sms"},
    {ProtectionLevel::personal, "personal"},
};
constexpr Name<UnlockKind> unlock_kinds[] = {
    {UnlockKind::none, "none"},
    {UnlockKind::phone, "phone"},
    {UnlockKind::identity, "identity"},
    {UnlockKind::device, "device"},
};
constexpr Name<ShredReason> shred_reasons[] = {
    {ShredReason::expired, "expired"},     {ShredReason::revoked, "revoked"},
    {ShredReason::erased, "erased"},       {ShredReason::delivered, "delivered"},
    {ShredReason::admin, "admin"},
};
constexpr Name<TokenPurpose> token_purposes[] = {
    {TokenPurpose::read, "read"},
    {TokenPurpose::reply, "reply"},
    {TokenPurpose::device, "device"},
};
constexpr Name<DeliveryKind> delivery_kinds[] = {
    {DeliveryKind::forward, "forward"},
    {DeliveryKind::notification, "notification"},
    {DeliveryKind::dsn, "dsn"},
    {DeliveryKind::reply, "reply"},
};
constexpr Name<QueueState> queue_states[] = {
    {QueueState::queued, "queued"}, {QueueState::leased, "leased"},   {QueueState::done, "done"},
    {QueueState::failed, "failed"}, {QueueState::dropped, "dropped"},
};
constexpr Name<ThreadState> thread_states[] = {{ThreadState::open, "open"}, {ThreadState::closed, "closed"}};
constexpr Name<PinIssue> pin_issues[] = {
    {PinIssue::issued, "issued"},
    {PinIssue::rate_limited, "rate_limited"},
    {PinIssue::locked, "locked"},
};
constexpr Name<PinVerdict> pin_verdicts[] = {
    {PinVerdict::accepted, "accepted"},   {PinVerdict::wrong, "wrong"},
    {PinVerdict::expired, "expired"},     {PinVerdict::exhausted, "exhausted"},
    {PinVerdict::consumed, "consumed"},   {PinVerdict::locked, "locked"},
    {PinVerdict::not_found, "not_found"},
};

template <typename E, std::size_t N>
std::string_view name_of(const Name<E> (&table)[N], E value) {
  for (const auto& n : table) {
    if (n.value == value) return n.text;
  }
  return "unknown";
}

template <typename E, std::size_t N>
Result<E> parse(const Name<E> (&table)[N], std::string_view text, std::string_view what) {
  for (const auto& n : table) {
    if (n.text == text) return n.value;
  }
  return make_error("store: unknown " + std::string(what) + " '" + std::string(text.substr(0, 32)) + "'");
}

}  // namespace

bool valid_message_id(std::string_view id) {
  if (id.empty() || id.size() > max_message_id_length) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_shredded(MessageState state) {
  return state == MessageState::shredded || state == MessageState::revoked || state == MessageState::expired;
}

std::string_view to_string(MessageKind v) { return name_of(message_kinds, v); }
std::string_view to_string(MessageState v) { return name_of(message_states, v); }
std::string_view to_string(ProtectionLevel v) { return name_of(protection_levels, v); }
std::string_view to_string(UnlockKind v) { return name_of(unlock_kinds, v); }
std::string_view to_string(ShredReason v) { return name_of(shred_reasons, v); }
std::string_view to_string(OnceKind v) { return v == OnceKind::code ? "code" : "nonce"; }
std::string_view to_string(TokenPurpose v) { return name_of(token_purposes, v); }
std::string_view to_string(DeliveryKind v) { return name_of(delivery_kinds, v); }
std::string_view to_string(QueueState v) { return name_of(queue_states, v); }
std::string_view to_string(ThreadState v) { return name_of(thread_states, v); }
std::string_view to_string(PinIssue v) { return name_of(pin_issues, v); }
std::string_view to_string(PinVerdict v) { return name_of(pin_verdicts, v); }

Result<MessageKind> parse_message_kind(std::string_view t) { return parse(message_kinds, t, "message kind"); }
Result<MessageState> parse_message_state(std::string_view t) { return parse(message_states, t, "message state"); }
Result<ProtectionLevel> parse_protection_level(std::string_view t) {
  return parse(protection_levels, t, "protection level");
}
Result<UnlockKind> parse_unlock_kind(std::string_view t) { return parse(unlock_kinds, t, "unlock kind"); }
Result<TokenPurpose> parse_token_purpose(std::string_view t) { return parse(token_purposes, t, "token purpose"); }
Result<DeliveryKind> parse_delivery_kind(std::string_view t) { return parse(delivery_kinds, t, "delivery kind"); }
Result<QueueState> parse_queue_state(std::string_view t) { return parse(queue_states, t, "queue state"); }
Result<ThreadState> parse_thread_state(std::string_view t) { return parse(thread_states, t, "thread state"); }

}  // namespace sinetti::store
