// `{{name}}` placeholders in operator-written texts (SMS texts, SMS provider request bodies): split
// a text into literal parts and placeholder names, so configuration checks and renderers agree on
// the syntax. Input: the operator's configuration; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti {

struct TemplatePart {
  bool placeholder = false;
  std::string_view text;  // the literal text, or the placeholder's name
};

// "Code {{pin}}." → {"Code "}, {pin}, {"."}. A name is 1–32 of [a-z0-9_] with no spaces; `{{` that
// does not open such a name up to `}}` is an error (so a typo is never sent literally). A lone `}}`
// is literal text.
inline Result<std::vector<TemplatePart>> split_placeholders(std::string_view text) {
  constexpr std::size_t max_name = 32;
  std::vector<TemplatePart> parts;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      parts.push_back({false, text.substr(pos)});
      break;
    }
    if (open > pos) parts.push_back({false, text.substr(pos, open - pos)});
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return make_error("'{{' without a closing '}}'");
    const std::string_view name = text.substr(open + 2, close - open - 2);
    bool valid = !name.empty() && name.size() <= max_name;
    for (char c : name) valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!valid) return make_error("'{{" + std::string(name.substr(0, max_name)) + "}}' is not a placeholder name (a-z, 0-9, _)");
    parts.push_back({true, name});
    pos = close + 2;
  }
  return parts;
}

}  // namespace sinetti
