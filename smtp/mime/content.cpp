// Decoding of one leaf part's content: transfer encoding (RFC 2045 section 6) through GMime's
// filters in bounded chunks, then charset to UTF-8 (RFC 2046 section 4.1.2) with a byte cap.
// Untrusted input: the raw content of every MIME leaf part.
#include "smtp/mime/content.hpp"

#include <array>

#include "smtp/mime/text.hpp"

namespace sinetti::mime::detail {
namespace {

bool is_base64_symbol(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Charset labels read as "UTF-8 if it is valid, else Windows-1252": none, ASCII (which in practice
// often carries undeclared 8-bit text) and the labels that mean "unknown".
constexpr std::array<std::string_view, 13> detect_labels = {
    "", "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "x-unknown", "unknown",
    "unknown-8bit", "x-user-defined", "default", "none", "8bit"};
constexpr std::array<std::string_view, 4> utf8_labels = {"utf-8", "utf8", "x-utf-8",
                                                         "unicode-1-1-utf-8"};
// ISO-8859-1 is read as its superset Windows-1252, as browsers do (WHATWG Encoding).
constexpr std::array<std::string_view, 15> windows_1252_labels = {
    "iso-8859-1", "iso8859-1", "iso_8859-1", "iso-8859-1:1987", "iso_8859-1:1987",
    "latin1",     "latin-1",   "l1",         "cp819",           "ibm819",
    "windows-1252", "cp1252",  "x-cp1252",   "cp-1252",         "win-1252"};

template <std::size_t N>
bool one_of(std::string_view label, const std::array<std::string_view, N>& labels) {
  for (std::string_view l : labels) {
    if (l == label) return true;
  }
  return false;
}

// Only plain charset names reach iconv_open: letters, digits and . _ : + - ( ), at most 40 bytes.
bool plausible_charset_name(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '+' || c == '-' || c == '(' || c == ')';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

// ---- ContentDecoder ---------------------------------------------------------------------------

ContentDecoder::ContentDecoder(GMimeStream* source, GMimeContentEncoding encoding)
    : encoding_(encoding), raw_(chunk_bytes) {
  if (source == nullptr) {
    done_ = true;
    return;
  }
  g_object_ref(source);
  source_.reset(source);
  if (g_mime_stream_reset(source_.get()) == -1) {
    failed_ = true;
    done_ = true;
    return;
  }
  switch (encoding) {
    case GMIME_CONTENT_ENCODING_BASE64:
    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
    case GMIME_CONTENT_ENCODING_UUENCODE:
      filter_.reset(g_mime_filter_basic_new(encoding, FALSE));
      break;
    default:  // 7bit, 8bit, binary, unknown: the bytes are the content
      break;
  }
}

bool ContentDecoder::source_at_end() const {
  GMimeStream* s = source_.get();
  if (g_mime_stream_eos(s)) return true;
  // A bounded GMime stream answers a read at its end bound with -1 rather than 0.
  return s->bound_end != -1 && s->position >= s->bound_end;
}

std::string_view ContentDecoder::next() {
  char* out = nullptr;
  std::size_t out_len = 0;
  std::size_t out_prespace = 0;
  while (!done_) {
    const ssize_t n = g_mime_stream_read(source_.get(), raw_.data(), raw_.size());
    if (n > 0) {
      const auto len = static_cast<std::size_t>(n);
      if (encoding_ == GMIME_CONTENT_ENCODING_BASE64) note_base64({raw_.data(), len});
      if (!filter_) return {raw_.data(), len};
      g_mime_filter_filter(filter_.get(), raw_.data(), len, 0, &out, &out_len, &out_prespace);
      if (out_len > 0) return {out, out_len};
      continue;
    }
    if (n < 0 && !source_at_end()) failed_ = true;
    done_ = true;
    if (filter_) {
      g_mime_filter_complete(filter_.get(), raw_.data(), 0, 0, &out, &out_len, &out_prespace);
      if (out_len > 0) return {out, out_len};
    }
  }
  return {};
}

void ContentDecoder::note_base64(std::string_view encoded) {
  for (char ch : encoded) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_base64_symbol(c)) {
      ++base64_symbols_;
    } else if (c == '=') {
      ++base64_padding_;
    } else if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
      ++base64_invalid_;
    }
  }
}

std::optional<std::string> ContentDecoder::encoding_defect() const {
  if (encoding_ != GMIME_CONTENT_ENCODING_BASE64) return std::nullopt;
  if (base64_invalid_ > 0) return std::string("invalid characters in base64 content (skipped)");
  if ((base64_symbols_ + base64_padding_) % 4 != 0) {
    return std::string("truncated base64 content (incomplete final group)");
  }
  return std::nullopt;
}

// ---- TextSink ---------------------------------------------------------------------------------

TextSink::TextSink(std::string_view declared_charset, std::size_t max_bytes, Defects& defects,
                   std::string_view part_path)
    : max_(max_bytes), defects_(defects), path_(part_path) {
  const std::string label = text::ascii_lower(text::trim(declared_charset));
  if (one_of(label, detect_labels)) {
    mode_ = Mode::detect;
  } else if (one_of(label, utf8_labels)) {
    mode_ = Mode::declared_utf8;
  } else if (one_of(label, windows_1252_labels)) {
    mode_ = Mode::windows_1252;
  } else {
    GMimeFilter* converter =
        plausible_charset_name(label) ? g_mime_filter_charset_new(label.c_str(), "UTF-8") : nullptr;
    if (converter != nullptr) {
      converter_.reset(converter);
      mode_ = Mode::converter;
    } else {
      mode_ = Mode::detect;
      defects_.add("part " + path_ + ": unknown charset '" + Defects::safe_name(label) +
                   "', read as UTF-8 or Windows-1252");
    }
  }
}

void TextSink::append_capped(std::string_view utf8) {
  if (full_) return;
  out_.append(utf8);
  if (out_.size() > max_) {
    text::truncate_utf8(out_, max_);
    truncated_ = true;
    full_ = true;
  }
}

void TextSink::write(std::string_view decoded) {
  if (full_ || decoded.empty()) return;
  switch (mode_) {
    case Mode::detect:
    case Mode::declared_utf8: {
      // Keep up to the cap; which way to read the bytes is decided once all of them are seen.
      const std::size_t room = max_ - std::min(max_, raw_.size());
      if (decoded.size() > room) {
        raw_.append(decoded.substr(0, room));
        raw_overflow_ = true;
        full_ = true;
      } else {
        raw_.append(decoded);
      }
      break;
    }
    case Mode::windows_1252: {
      std::string utf8;
      text::append_windows_1252(utf8, decoded);
      append_capped(utf8);
      break;
    }
    case Mode::converter: {
      // GMime filters take a mutable buffer; give them a copy of the chunk.
      scratch_.assign(decoded.begin(), decoded.end());
      char* out = nullptr;
      std::size_t out_len = 0;
      std::size_t out_prespace = 0;
      g_mime_filter_filter(converter_.get(), scratch_.data(), scratch_.size(), 0, &out, &out_len,
                           &out_prespace);
      const std::string_view converted(out, out_len);
      // iconv emits whole characters; should the filter pass bytes through, repair them.
      append_capped(text::is_valid_utf8(converted) ? std::string(converted)
                                                   : text::repair_utf8(converted));
      break;
    }
  }
}

std::string TextSink::finish(bool& truncated) {
  switch (mode_) {
    case Mode::detect:
    case Mode::declared_utf8: {
      std::string_view bytes = raw_;
      // A cut made by the cap may split the last character; that is not an encoding error.
      if (raw_overflow_) bytes.remove_suffix(text::incomplete_utf8_tail(bytes));
      if (text::is_valid_utf8(bytes)) {
        out_.assign(bytes);
      } else if (mode_ == Mode::declared_utf8) {
        out_ = text::repair_utf8(bytes);
        defects_.add("part " + path_ + ": invalid UTF-8 bytes, read as Windows-1252");
      } else {
        out_ = text::utf8_or_windows_1252(bytes);
      }
      truncated_ = raw_overflow_;
      raw_.clear();
      raw_.shrink_to_fit();
      break;
    }
    case Mode::windows_1252:
      break;
    case Mode::converter:
      if (!full_) {
        char* out = nullptr;
        std::size_t out_len = 0;
        std::size_t out_prespace = 0;
        scratch_.assign(1, '\0');
        g_mime_filter_complete(converter_.get(), scratch_.data(), 0, 0, &out, &out_len,
                               &out_prespace);
        const std::string_view converted(out, out_len);
        append_capped(text::is_valid_utf8(converted) ? std::string(converted)
                                                     : text::repair_utf8(converted));
      }
      break;
  }
  text::replace_nul(out_);
  if (text::truncate_utf8(out_, max_)) truncated_ = true;
  truncated = truncated_;
  return std::move(out_);
}

}  // namespace sinetti::mime::detail
