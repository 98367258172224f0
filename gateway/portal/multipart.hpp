// multipart/form-data (RFC 7578 over RFC 2046 §5.1) as browsers send forms with files: the
// boundary from the Content-Type, then each part's Content-Disposition name and filename and its
// Content-Type. The parts are views into the body, which the listener already holds within
// portal.max_body_size. Untrusted input: the body and the Content-Type header; every part header
// section is capped and so is the number of parts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::portal {

inline constexpr std::size_t max_form_parts = 64;
inline constexpr std::size_t max_part_header_bytes = 8 * 1024;

struct FormPart {
  std::string name;
  std::optional<std::string> filename;  // present for a file input (empty when no file was chosen)
  std::string content_type;             // lower-case, as declared; empty when none
  std::string_view data;                // into the body
};

// The boundary parameter of a multipart/form-data Content-Type, if that is what it is.
std::optional<std::string> form_boundary(std::string_view content_type);

// The parts, in order. Errors: no opening or closing delimiter, a part header section beyond its
// cap or without its end, more than max_form_parts parts.
Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace sinetti::portal
