// Builds text mails with GMime so that encoded words (RFC 2047), folding and quoted-printable
// (RFC 2045 §6.7) are done by the same library that reads mail.
#include "smtp/mime/compose.hpp"

#include <algorithm>

#include "smtp/mime/gmime_handles.hpp"
#include "smtp/mime/text.hpp"

namespace sinetti::mime {

namespace {

using detail::as;
using detail::GObjectPtr;

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos || s.find('\0') != std::string_view::npos; }

bool plausible_address(std::string_view a) {
  const auto at = a.rfind('@');
  return at != std::string_view::npos && at > 0 && at + 1 < a.size() &&
         a.find_first_of(" \t<>()[],;:\"\\") == std::string_view::npos && !has_line_break(a);
}

std::string normalise_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* o) const noexcept { g_mime_format_options_free(o); }
};

struct DateTimeUnref {
  void operator()(GDateTime* d) const noexcept { g_date_time_unref(d); }
};

}  // namespace

Result<std::string> compose_text(const OutgoingText& mail) {
  if (!plausible_address(mail.from.address)) return make_error("compose: From is not a mail address");
  if (mail.to.empty()) return make_error("compose: no To address");
  for (const auto* list : {&mail.to, &mail.reply_to}) {
    for (const auto& m : *list) {
      if (!plausible_address(m.address)) return make_error("compose: '" + m.address + "' is not a mail address");
      if (has_line_break(m.name)) return make_error("compose: line break in a display name");
    }
  }
  if (has_line_break(mail.from.name) || has_line_break(mail.subject) || has_line_break(mail.message_id) ||
      has_line_break(mail.in_reply_to) || has_line_break(mail.language)) {
    return make_error("compose: line break in a header value");
  }
  for (const auto& [name, value] : mail.headers) {
    if (name.empty() || has_line_break(value) ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; })) {
      return make_error("compose: bad extra header '" + name + "'");
    }
  }
  if (!text::is_valid_utf8(mail.body) || !text::is_valid_utf8(mail.subject)) {
    return make_error("compose: text is not valid UTF-8");
  }

  detail::ensure_gmime();
  GObjectPtr<GMimeMessage> message(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, mail.from.name.c_str(), mail.from.address.c_str());
  for (const auto& m : mail.to) {
    g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, m.name.c_str(), m.address.c_str());
  }
  for (const auto& m : mail.reply_to) {
    g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_REPLY_TO, m.name.c_str(), m.address.c_str());
  }
  g_mime_message_set_subject(message.get(), mail.subject.c_str(), "utf-8");
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(mail.date.time_since_epoch()).count();
  std::unique_ptr<GDateTime, DateTimeUnref> date(g_date_time_new_from_unix_utc(seconds));
  if (date) g_mime_message_set_date(message.get(), date.get());
  if (!mail.message_id.empty()) g_mime_message_set_message_id(message.get(), mail.message_id.c_str());
  auto* object = as<GMimeObject>(message.get());
  if (!mail.in_reply_to.empty()) {
    const std::string ref = "<" + mail.in_reply_to + ">";
    g_mime_object_set_header(object, "In-Reply-To", ref.c_str(), nullptr);
    g_mime_object_set_header(object, "References", ref.c_str(), nullptr);
  }
  for (const auto& [name, value] : mail.headers) g_mime_object_append_header(object, name.c_str(), value.c_str(), "utf-8");

  GObjectPtr<GMimeTextPart> part(g_mime_text_part_new_with_subtype("plain"));
  // The body goes in as UTF-8 bytes: g_mime_text_part_set_text would pick the "best" charset
  // (ISO-8859-1 for Finnish text) by itself.
  const std::string body = normalise_newlines(mail.body);
  GObjectPtr<GMimeStream> content(g_mime_stream_mem_new_with_buffer(body.data(), body.size()));
  GObjectPtr<GMimeDataWrapper> wrapper(g_mime_data_wrapper_new_with_stream(content.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(as<GMimePart>(part.get()), wrapper.get());
  g_mime_object_set_content_type_parameter(as<GMimeObject>(part.get()), "charset", "utf-8");
  g_mime_part_set_content_encoding(as<GMimePart>(part.get()), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  if (!mail.language.empty()) {
    g_mime_object_set_header(as<GMimeObject>(part.get()), "Content-Language", mail.language.c_str(), nullptr);
  }
  if (mail.attachments.empty()) {
    g_mime_message_set_mime_part(message.get(), as<GMimeObject>(part.get()));
  } else {
    GObjectPtr<GMimeMultipart> mixed(g_mime_multipart_new_with_subtype("mixed"));
    g_mime_multipart_add(mixed.get(), as<GMimeObject>(part.get()));
    for (const auto& a : mail.attachments) {
      const auto slash = a.content_type.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == a.content_type.size()) {
        return make_error("compose: attachment type '" + a.content_type + "' is not type/subtype");
      }
      const std::string type = a.content_type.substr(0, slash);
      const std::string sub = a.content_type.substr(slash + 1);
      GObjectPtr<GMimePart> file(g_mime_part_new_with_type(type.c_str(), sub.c_str()));
      GObjectPtr<GMimeStream> bytes(g_mime_stream_mem_new_with_buffer(a.data.data(), a.data.size()));
      GObjectPtr<GMimeDataWrapper> data(g_mime_data_wrapper_new_with_stream(bytes.get(), GMIME_CONTENT_ENCODING_DEFAULT));
      g_mime_part_set_content(file.get(), data.get());
      g_mime_part_set_content_encoding(file.get(), GMIME_CONTENT_ENCODING_BASE64);
      if (!a.filename.empty() && text::is_valid_utf8(a.filename) && !has_line_break(a.filename)) {
        g_mime_part_set_filename(file.get(), a.filename.c_str());  // also sets Content-Disposition: attachment
      } else {
        g_mime_object_set_disposition(as<GMimeObject>(file.get()), "attachment");
      }
      g_mime_multipart_add(mixed.get(), as<GMimeObject>(file.get()));
    }
    g_mime_message_set_mime_part(message.get(), as<GMimeObject>(mixed.get()));
  }

  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> options(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  detail::GCharPtr text(g_mime_object_to_string(object, options.get()));
  if (!text) return make_error("compose: GMime could not write the message");
  return std::string(text.get());
}

}  // namespace sinetti::mime
