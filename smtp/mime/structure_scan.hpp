// Private to smtp/mime: one cheap pass over the raw message, before GMime sees it, that finds header
// sections as GMime will (RFC 5322 section 2.2; boundaries RFC 2046 section 5.1.1; encapsulated
// messages RFC 2046 section 5.2.1) and refuses messages whose structure exceeds mime::Limits.
// Why: GMime builds its whole tree before anything can be inspected, at roughly 1 KiB per part and
// 100 bytes per header field, so limits checked only afterwards would let a few MB of hostile input
// cost GBs. Untrusted input: every message. State is bounded: long lines are measured, not kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "sinetti/result.hpp"
#include "smtp/mime/message.hpp"

namespace sinetti::mime::detail {

class StructureScan {
 public:
  explicit StructureScan(const Limits& limits);

  // Bytes of the message in order, in chunks of any size.
  void feed(std::string_view bytes);
  // True once a limit is known to be exceeded: the rest of the message need not be fed.
  bool failed() const { return error_.has_value(); }
  // Ends the scan; the error if a limit is exceeded.
  std::optional<Error> finish();

  // A NUL byte in the top-level header section (GMime keeps header values as C strings).
  bool nul_in_top_header() const { return nul_in_top_header_; }

 private:
  void process_line();
  enum class Delimiter { none, boundary, close };
  Delimiter delimiter() const;
  void start_section(bool by_boundary);
  void end_section();
  void end_field();
  void note_content_type(std::string_view value);
  void note_boundary_parameters(std::string_view value);
  void fail(std::string message);

  const Limits& limits_;
  std::optional<Error> error_;

  // The line being assembled: its first bytes and its full length.
  std::string line_;
  std::uint64_t line_length_ = 0;
  bool line_tail_is_space_ = true;  // bytes beyond line_ are all SP / HTAB / CR

  // Where the scan is.
  bool in_header_ = true;
  bool top_section_ = true;
  std::size_t sections_ = 1;
  std::size_t section_fields_ = 0;
  std::uint64_t section_bytes_ = 0;
  std::size_t total_fields_ = 0;
  bool nul_in_top_header_ = false;

  // The header field being read (continuation lines appended).
  enum class Field { none, content_type, transfer_encoding, other };
  Field field_ = Field::none;
  std::string field_value_;
  bool field_value_cut_ = false;

  // What the current section declared.
  bool section_by_boundary_ = false;
  bool section_has_content_type_ = false;
  bool section_is_message_ = false;
  bool section_is_encoded_ = false;

  // Boundaries declared so far. When a declaration is too odd to read the way GMime would
  // (RFC 2231 or RFC 2047 forms, comments, overlong values), every line starting with "--" counts.
  std::unordered_set<std::string> boundaries_;
  bool any_dash_line_is_boundary_ = false;
  bool digest_seen_ = false;
};

}  // namespace sinetti::mime::detail
