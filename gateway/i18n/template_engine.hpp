// The form a template is rendered from: its text parsed once into a flat list of operations that a
// render walks straight into one output string, reading the values where they are (no copy of them
// into another data tree, no callback per line). It follows kainjow/mustache's reading of a
// template exactly — the same tags, delimiters, whitespace and line rules, the same name lookup
// through the enclosing sections — because kainjow is what checks a template when it is loaded and
// what an operator's template was written against; a unit test renders every built-in template
// both ways with many value sets and compares. Partials (`{{> name}}`) are refused at parse time:
// kainjow renders a value named by a partial tag as a template, which would let a value (a subject,
// a team's name) inject tags.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/i18n/templates.hpp"
#include "sinetti/result.hpp"

namespace sinetti::i18n::detail {

class TemplateProgram {
 public:
  // The text as kainjow parses it (after strip_standalone_lines); the error says where it is wrong.
  static Result<TemplateProgram> parse(std::string_view text);

  // Appends the rendering to `out`; `html` escapes `{{name}}` values for HTML. Never fails: what
  // could fail (lambdas, partials) does not exist here. Thread-safe (const, no shared state).
  void render(const TemplateMap& values, bool html, std::string& out) const;

 private:
  enum class Op : std::uint8_t { text, newline, variable, raw_variable, section, inverted };
  struct Step {
    Op op;
    std::string text;                // text and newline: the bytes; tags: the name as written
    std::vector<std::string> names;  // tags: the name split at '.' as kainjow splits it
    bool dotted = false;             // the name holds a '.' (and is not ".")
    std::uint32_t end = 0;           // sections: the index after the section's steps
  };
  struct Frame;
  struct Render;

  std::vector<Step> steps_;
};

// Mustache's "standalone" rule for the lines kainjow does not apply it to (see templates.cpp).
std::string strip_standalone_lines(std::string_view text);
inline constexpr char blank_line_marker = '\x1f';

void append_html_escaped(std::string& out, std::string_view s);

}  // namespace sinetti::i18n::detail
