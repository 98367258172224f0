// Structural pre-scan of a raw message: header sections, boundaries and encapsulated messages found
// the way GMime's parser finds them (RFC 5322 section 2.2, RFC 2046 sections 5.1.1 and 5.2.1), so
// mime::Limits hold before GMime allocates anything. Untrusted input: every message.
#include "smtp/mime/structure_scan.hpp"

#include <array>
#include <cstring>
#include <utility>

#include "smtp/mime/text.hpp"

namespace sinetti::mime::detail {
namespace {

// A boundary may be at most 70 characters (RFC 2046); GMime accepts longer ones, so keep plenty.
constexpr std::size_t kept_line_bytes = 8 * 1024;
constexpr std::size_t kept_value_bytes = 16 * 1024;

bool is_line_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_space(char c) { return is_line_space(c) || c == '\n'; }

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

// A token as GMime's Content-Type and Content-Transfer-Encoding parsers read one.
std::string_view leading_token(std::string_view s) {
  s = trim_left(s);
  std::size_t n = 0;
  while (n < s.size() && !is_space(s[n]) && s[n] != '/' && s[n] != ';' && s[n] != '(' &&
         s[n] != '"') {
    ++n;
  }
  return s.substr(0, n);
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (text::iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

}  // namespace

StructureScan::StructureScan(const Limits& limits) : limits_(limits) {}

void StructureScan::fail(std::string message) {
  if (!error_) error_ = make_error(std::move(message));
}

void StructureScan::feed(std::string_view bytes) {
  while (!bytes.empty() && !error_) {
    const auto* newline = static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
    const std::size_t piece_length =
        newline != nullptr ? static_cast<std::size_t>(newline - bytes.data()) : bytes.size();
    const std::string_view piece = bytes.substr(0, piece_length);
    if (top_section_ && in_header_ && piece.find('\0') != std::string_view::npos) {
      nul_in_top_header_ = true;
    }
    const std::size_t room = kept_line_bytes - std::min(kept_line_bytes, line_.size());
    line_.append(piece.substr(0, std::min(room, piece.size())));
    if (piece.size() > room && line_tail_is_space_) {
      for (char c : piece.substr(room)) {
        if (!is_line_space(c)) {
          line_tail_is_space_ = false;
          break;
        }
      }
    }
    line_length_ += piece.size();
    if (newline == nullptr) return;
    process_line();
    line_.clear();
    line_length_ = 0;
    line_tail_is_space_ = true;
    bytes.remove_prefix(piece_length + 1);
  }
}

std::optional<Error> StructureScan::finish() {
  if (!error_ && line_length_ > 0) process_line();  // a last line without a newline
  if (!error_) end_field();
  return error_;
}

StructureScan::Delimiter StructureScan::delimiter() const {
  if (line_length_ < 2 || line_[0] != '-' || line_[1] != '-') return Delimiter::none;
  if (any_dash_line_is_boundary_) return Delimiter::boundary;
  if (!line_tail_is_space_ || boundaries_.empty()) return Delimiter::none;
  // GMime: "--" boundary, optionally "--", then only linear white space.
  const std::string_view core = trim_right(std::string_view(line_).substr(2));
  if (core.size() >= 2 && core.substr(core.size() - 2) == "--" &&
      boundaries_.count(std::string(core.substr(0, core.size() - 2))) != 0) {
    return Delimiter::close;
  }
  return boundaries_.count(std::string(core)) != 0 ? Delimiter::boundary : Delimiter::none;
}

void StructureScan::process_line() {
  switch (delimiter()) {
    case Delimiter::boundary:
      // A boundary ends a header section too (GMime: "part without content").
      end_field();
      start_section(true);
      return;
    case Delimiter::close:  // the epilogue follows: body, not headers
      end_field();
      in_header_ = false;
      top_section_ = false;
      return;
    case Delimiter::none:
      break;
  }
  if (!in_header_) return;
  const bool blank = line_length_ == 0 || (line_length_ == 1 && line_[0] == '\r');
  if (blank) {
    end_field();
    end_section();
    return;
  }
  section_bytes_ += line_length_ + 1;
  if (line_[0] == ' ' || line_[0] == '\t') {
    // Continuation of the field before (RFC 5322 folding).
    if (field_ == Field::content_type || field_ == Field::transfer_encoding) {
      const std::size_t room = kept_value_bytes - std::min(kept_value_bytes, field_value_.size());
      field_value_.append(line_, 0, room);
      if (line_.size() > room || line_length_ > line_.size()) field_value_cut_ = true;
    }
  } else {
    end_field();
    ++section_fields_;
    ++total_fields_;
    const std::size_t colon = line_.find(':');
    const std::string_view name = colon == std::string::npos
                                      ? std::string_view()
                                      : trim_right(std::string_view(line_).substr(0, colon));
    if (text::iequals(name, "content-type")) {
      field_ = Field::content_type;
    } else if (text::iequals(name, "content-transfer-encoding")) {
      field_ = Field::transfer_encoding;
    } else {
      field_ = Field::other;
    }
    if (field_ != Field::other) {
      field_value_.assign(line_, colon + 1);
      field_value_cut_ = line_length_ > line_.size();
    }
  }
  const std::string where = top_section_ ? "message" : "MIME part";
  if (section_bytes_ > limits_.max_header_bytes) {
    fail(where + " header section exceeds " + std::to_string(limits_.max_header_bytes) + " bytes");
  } else if (section_fields_ > limits_.max_headers) {
    fail(where + " header section has more than " + std::to_string(limits_.max_headers) +
         " fields");
  } else if (total_fields_ > limits_.max_total_headers) {
    fail("message has more than " + std::to_string(limits_.max_total_headers) +
         " header fields in all");
  }
}

void StructureScan::start_section(bool by_boundary) {
  in_header_ = true;
  top_section_ = false;
  section_fields_ = 0;
  section_bytes_ = 0;
  field_ = Field::none;
  section_by_boundary_ = by_boundary;
  section_has_content_type_ = false;
  section_is_message_ = false;
  section_is_encoded_ = false;
  // Sections track GMime's parts closely; lines that only look like boundaries (a quoted message,
  // say) can add a few, hence the slack. The exact count is checked on the parsed tree.
  if (++sections_ > 2 * limits_.max_parts) {
    fail("message has more than " + std::to_string(limits_.max_parts) + " MIME parts");
  }
}

void StructureScan::end_section() {
  in_header_ = false;
  top_section_ = false;
  // An encapsulated message's own header section follows its part's header section directly
  // (GMime reads base64 / quoted-printable / uuencoded message/rfc822 as a leaf). Parts of a
  // multipart/digest default to message/rfc822.
  const bool encapsulated = (section_is_message_ && !section_is_encoded_) ||
                            (section_by_boundary_ && !section_has_content_type_ && digest_seen_);
  if (encapsulated) start_section(false);
}

void StructureScan::end_field() {
  const Field field = std::exchange(field_, Field::none);
  if (field == Field::content_type) {
    section_has_content_type_ = true;
    note_content_type(field_value_);
    if (field_value_cut_) {
      // Parameters beyond what is kept are unseen: assume the worst.
      any_dash_line_is_boundary_ = true;
      section_is_message_ = true;
    }
  } else if (field == Field::transfer_encoding) {
    const std::string_view encoding = leading_token(field_value_);
    for (std::string_view e : {"base64", "quoted-printable", "uuencode", "x-uuencode", "x-uue"}) {
      if (text::iequals(encoding, e)) section_is_encoded_ = true;
    }
  }
}

void StructureScan::note_content_type(std::string_view value) {
  std::string unfolded(value);
  std::erase_if(unfolded, [](char c) { return c == '\r' || c == '\n'; });
  const std::string_view v = unfolded;
  const std::string_view media = v.substr(0, v.find(';'));
  if (media.find('(') != std::string_view::npos) {
    // Comments around the media type: read it the cautious way.
    if (icontains(media, "message")) section_is_message_ = true;
    if (icontains(media, "digest")) digest_seen_ = true;
  } else {
    const std::string_view type = leading_token(media);
    std::string_view rest = trim_left(media.substr(media.find(type) + type.size()));
    std::string_view subtype;
    if (!rest.empty() && rest.front() == '/') subtype = leading_token(rest.substr(1));
    if (text::iequals(type, "message")) {
      for (std::string_view s : {"rfc822", "rfc2822", "global", "news"}) {
        if (text::iequals(subtype, s)) section_is_message_ = true;
      }
    }
    if (text::iequals(type, "multipart") && text::iequals(subtype, "digest")) digest_seen_ = true;
  }
  note_boundary_parameters(v);
}

void StructureScan::note_boundary_parameters(std::string_view v) {
  constexpr std::string_view name = "boundary";
  for (std::size_t i = 0; i + name.size() <= v.size(); ++i) {
    if (!text::iequals(v.substr(i, name.size()), name)) continue;
    std::size_t p = i + name.size();
    while (p < v.size() && is_space(v[p])) ++p;
    if (p < v.size() && v[p] == '*') {  // RFC 2231 form: GMime decodes it, this scan does not
      any_dash_line_is_boundary_ = true;
      return;
    }
    if (p >= v.size() || v[p] != '=') continue;  // not a parameter
    ++p;
    while (p < v.size() && is_space(v[p])) ++p;
    std::string boundary;
    if (p < v.size() && v[p] == '"') {
      bool closed = false;
      for (++p; p < v.size(); ++p) {
        if (v[p] == '\\' && p + 1 < v.size()) {
          boundary.push_back(v[++p]);
        } else if (v[p] == '"') {
          closed = true;
          break;
        } else {
          boundary.push_back(v[p]);
        }
      }
      if (!closed) any_dash_line_is_boundary_ = true;
    } else if (p < v.size() && v[p] == '(') {
      any_dash_line_is_boundary_ = true;
    } else {
      while (p < v.size() && !is_space(v[p]) && v[p] != ';' && v[p] != '"') {
        boundary.push_back(v[p++]);
      }
    }
    // Encoded words in parameters are decoded by GMime in its lenient mode: do not guess.
    if (boundary.find("=?") != std::string::npos) any_dash_line_is_boundary_ = true;
    // A delimiter line longer than what is kept could not be recognised.
    if (boundary.size() + 8 > kept_line_bytes) any_dash_line_is_boundary_ = true;
    if (!boundary.empty()) boundaries_.insert(std::move(boundary));
    // Memory for the set is bounded by the input already; past this, stop keeping and count all.
    if (boundaries_.size() > 4 * limits_.max_parts) any_dash_line_is_boundary_ = true;
    if (any_dash_line_is_boundary_) return;
  }
}

}  // namespace sinetti::mime::detail
