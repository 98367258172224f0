#include "gateway/portal/multipart.hpp"

#include <algorithm>
#include <cctype>

namespace sinetti::portal {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parameters of a header value: `value; a=b; c="d e"`, names lower-cased; the first of a name wins.
std::vector<std::pair<std::string, std::string>> parameters(std::string_view value) {
  std::vector<std::pair<std::string, std::string>> out;
  auto semi = value.find(';');
  if (semi == std::string_view::npos) return out;
  std::string_view rest = value.substr(semi + 1);
  while (!rest.empty()) {
    rest = trim(rest);
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    const std::string name = lower(trim(rest.substr(0, eq)));
    rest.remove_prefix(eq + 1);
    rest = trim(rest);
    std::string v;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t i = 1;
      // Only \" is an escape: browsers write file names unescaped (old ones with Windows paths).
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size() && rest[i + 1] == '"') ++i;
        v += rest[i];
      }
      rest.remove_prefix(std::min(rest.size(), i + 1));
      const auto next = rest.find(';');
      rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    } else {
      const auto next = rest.find(';');
      v = std::string(trim(rest.substr(0, next)));
      rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    }
    bool seen = false;
    for (const auto& [n, x] : out) seen = seen || n == name;
    if (!seen) out.emplace_back(name, std::move(v));
  }
  return out;
}

std::optional<std::string> parameter(std::string_view value, std::string_view name) {
  for (auto& [n, v] : parameters(value)) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> form_boundary(std::string_view content_type) {
  const std::string type = lower(trim(content_type.substr(0, content_type.find(';'))));
  if (type != "multipart/form-data") return std::nullopt;
  auto b = parameter(content_type, "boundary");
  if (!b || b->empty() || b->size() > 70) return std::nullopt;  // RFC 2046 §5.1.1
  return b;
}

Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view boundary) {
  const std::string delimiter = "--" + std::string(boundary);
  const std::string inner = "\r\n" + delimiter;
  std::vector<FormPart> parts;
  std::size_t at;
  if (body.starts_with(delimiter)) {
    at = delimiter.size();
  } else {
    const auto first = body.find(inner);
    if (first == std::string_view::npos) return make_error("multipart: no opening delimiter");
    at = first + inner.size();
  }
  for (;;) {
    if (body.substr(at, 2) == "--") return parts;  // the closing delimiter
    // Transport padding, then the line break that ends the delimiter line.
    while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;
    if (body.substr(at, 2) != "\r\n") return make_error("multipart: a delimiter line does not end");
    at += 2;
    const auto head_end = body.find("\r\n\r\n", at);
    const bool no_headers = body.substr(at, 2) == "\r\n";
    if (!no_headers && (head_end == std::string_view::npos || head_end - at > max_part_header_bytes)) {
      return make_error("multipart: a part's header section is missing its end or too long");
    }
    FormPart part;
    const std::string_view head = no_headers ? std::string_view{} : body.substr(at, head_end - at);
    at = no_headers ? at + 2 : head_end + 4;
    std::string_view lines = head;
    while (!lines.empty()) {
      const auto eol = lines.find("\r\n");
      const std::string_view line = lines.substr(0, eol);
      lines = eol == std::string_view::npos ? std::string_view{} : lines.substr(eol + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string name = lower(trim(line.substr(0, colon)));
      const std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (lower(trim(value.substr(0, value.find(';')))) != "form-data") continue;
        part.name = parameter(value, "name").value_or("");
        part.filename = parameter(value, "filename");
      } else if (name == "content-type") {
        part.content_type = lower(trim(value.substr(0, value.find(';'))));
      }
    }
    // The next delimiter line: the delimiter followed by "--", or by padding and CRLF.
    std::size_t end = body.find(inner, at);
    while (end != std::string_view::npos) {
      std::size_t after = end + inner.size();
      if (body.substr(after, 2) == "--") break;
      while (after < body.size() && (body[after] == ' ' || body[after] == '\t')) ++after;
      if (body.substr(after, 2) == "\r\n") break;
      end = body.find(inner, end + 1);
    }
    if (end == std::string_view::npos) return make_error("multipart: no closing delimiter");
    part.data = body.substr(at, end - at);
    if (parts.size() >= max_form_parts) return make_error("multipart: too many parts");
    parts.push_back(std::move(part));
    at = end + inner.size();
  }
}

}  // namespace sinetti::portal
