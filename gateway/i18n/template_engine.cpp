#include "gateway/i18n/template_engine.hpp"

#include <optional>
#include <utility>

namespace sinetti::i18n::detail {

namespace {

// std::isspace in the "C" locale, which kainjow's trim() uses.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// As kainjow splits a dotted name (std::getline on '.'): "a." is {"a"}, ".a" is {"", "a"}.
std::vector<std::string> split_name(std::string_view name) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < name.size()) {
    const auto dot = name.find('.', start);
    if (dot == std::string_view::npos) {
      out.emplace_back(name.substr(start));
      break;
    }
    out.emplace_back(name.substr(start, dot - start));
    start = dot + 1;
  }
  return out;
}

bool valid_delimiter(std::string_view d) {
  for (char c : d) {
    if (c == '=' || is_space(c)) return false;
  }
  return true;
}

Error at(std::string what, std::size_t position) { return make_error(std::move(what) + " at " + std::to_string(position)); }

}  // namespace

Result<TemplateProgram> TemplateProgram::parse(std::string_view input) {
  TemplateProgram p;
  auto& steps = p.steps_;
  std::string begin = "{{";
  std::string end = "}}";
  bool brace = true;
  std::vector<std::uint32_t> open;  // the sections begun and not yet ended, innermost last
  std::vector<std::size_t> open_at;
  std::size_t merge_floor = 0;  // text merges only into a step at or after this (not across a tag)

  const auto add_text = [&](std::string_view t) {
    if (steps.size() > merge_floor && steps.back().op == Op::text) {
      steps.back().text.append(t);
    } else {
      steps.push_back(Step{Op::text, std::string(t), {}, false, 0});
    }
  };

  const std::size_t n = input.size();
  for (std::size_t pos = 0; pos != n;) {
    if (input.compare(pos, begin.size(), begin) != 0) {
      // kainjow's whitespace pieces: a line end ("\r\n", "\n" or "\r") ends the line; the rest is text.
      if (input[pos] == '\r' || input[pos] == '\n') {
        const std::size_t len = input[pos] == '\r' && pos + 1 < n && input[pos + 1] == '\n' ? 2 : 1;
        steps.push_back(Step{Op::newline, std::string(input.substr(pos, len)), {}, false, 0});
        pos += len;
      } else {
        const auto next = std::min(input.find_first_of("\r\n", pos), input.find(begin, pos));
        const std::size_t stop = next == std::string_view::npos ? n : next;
        add_text(input.substr(pos, stop - pos));
        pos = stop;
      }
      continue;
    }

    const std::size_t start = pos;
    std::size_t contents_at = start + begin.size();
    const bool unescaped = brace && start != n - 2 && input[contents_at] == begin[0];
    const std::string_view close = unescaped ? std::string_view("}}}") : std::string_view(end);
    if (unescaped) ++contents_at;
    const std::size_t close_at = input.find(close, contents_at);
    if (close_at == std::string_view::npos) return at("Unclosed tag", start);
    const std::string_view contents = trim(input.substr(contents_at, close_at - contents_at));
    pos = close_at + close.size();

    if (!contents.empty() && contents.front() == '=') {
      // {{=<% %>=}}: new delimiters from here on.
      if (contents.size() < 5 || contents.back() != '=') return at("Invalid set delimiter tag", start);
      const std::string_view inner = trim(contents.substr(1, contents.size() - 2));
      const auto space = inner.find(' ');
      if (space == std::string_view::npos) return at("Invalid set delimiter tag", start);
      const auto second = inner.find_first_not_of(' ', space + 1);
      const std::string_view b = inner.substr(0, space);
      const std::string_view e = inner.substr(second);
      if (!valid_delimiter(b) || !valid_delimiter(e)) return at("Invalid set delimiter tag", start);
      begin = std::string(b);
      end = std::string(e);
      brace = begin == "{{" && end == "}}";
      continue;
    }

    Op op = Op::variable;
    std::string_view name = contents;
    if (unescaped) {
      op = Op::raw_variable;
    } else if (!contents.empty() && std::string_view("#^&/!>").find(contents.front()) != std::string_view::npos) {
      const char sigil = contents.front();
      name = trim(contents.substr(1));
      if (sigil == '!') continue;  // a comment
      if (sigil == '>') {
        return at("partial tags ({{> name}}) are not supported: a value would be rendered as a template", start);
      }
      if (sigil == '/') {
        if (open.empty()) return at("Unopened section \"" + std::string(name) + "\"", start);
        Step& section = steps[open.back()];
        if (section.text != name) return at("Unclosed section \"" + section.text + "\"", open_at.back());
        section.end = static_cast<std::uint32_t>(steps.size());
        open.pop_back();
        open_at.pop_back();
        merge_floor = steps.size();
        continue;
      }
      op = sigil == '#' ? Op::section : sigil == '^' ? Op::inverted : Op::raw_variable;
    }
    Step step{op, std::string(name), {}, false, 0};
    step.dotted = name != "." && name.find('.') != std::string_view::npos;
    if (step.dotted) step.names = split_name(name);
    steps.push_back(std::move(step));
    merge_floor = steps.size();
    if (op == Op::section || op == Op::inverted) {
      open.push_back(static_cast<std::uint32_t>(steps.size() - 1));
      open_at.push_back(start);
    }
  }
  if (!open.empty()) return at("Unclosed section \"" + steps[open.back()].text + "\"", open_at.back());
  return p;
}

// What a name refers to: one of the enclosing maps (the values, a list's item) or a value in one.
struct TemplateProgram::Frame {
  const TemplateMap* map = nullptr;
  const TemplateValue* value = nullptr;

  // An empty string counts as false (as the gateway's values always did for kainjow), so a
  // `{{#subject}}` section disappears when there is no subject.
  enum class Kind { missing, object, string, truthy, falsy, list };
  Kind kind() const {
    if (map != nullptr) return Kind::object;
    if (value == nullptr) return Kind::missing;
    if (const auto* s = std::get_if<std::string>(&value->value)) return s->empty() ? Kind::falsy : Kind::string;
    if (const auto* b = std::get_if<bool>(&value->value)) return *b ? Kind::truthy : Kind::falsy;
    return std::get<std::vector<TemplateMap>>(value->value).empty() ? Kind::falsy : Kind::list;
  }
  Frame get(std::string_view name) const {
    if (map == nullptr) return {};
    const auto it = map->find(name);
    return it == map->end() ? Frame{} : Frame{nullptr, &it->second};
  }
};

struct TemplateProgram::Render {
  const std::vector<Step>& steps;
  bool html;
  std::string& out;
  std::vector<Frame> stack;  // innermost last
  std::size_t line_start;
  bool section_on_line = false;  // kainjow: a line that touched a section tag and is left blank goes

  // A name looked up from the innermost section outwards, as kainjow's context does.
  Frame lookup(const Step& s) const {
    if (s.text == ".") return stack.back();
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      if (!s.dotted) {
        if (Frame f = it->get(s.text); f.kind() != Frame::Kind::missing) return f;
        continue;
      }
      Frame f = *it;
      for (const auto& part : s.names) {
        f = f.get(part);
        if (f.kind() == Frame::Kind::missing) break;
      }
      if (f.kind() != Frame::Kind::missing) return f;
    }
    return {};
  }

  void end_line(std::string_view line_end) {
    bool blank = true;
    for (std::size_t i = line_start; i < out.size() && blank; ++i) blank = out[i] == ' ' || out[i] == '\t';
    if (section_on_line && blank) out.resize(line_start);
    else out.append(line_end);
    line_start = out.size();
    section_on_line = false;
  }

  void section(std::size_t first, std::size_t last, std::optional<Frame> pushed) {
    section_on_line = true;
    if (pushed) stack.push_back(*pushed);
    run(first, last);
    if (pushed) stack.pop_back();
    section_on_line = true;
  }

  void run(std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      const Step& s = steps[i];
      switch (s.op) {
        case Op::text: out.append(s.text); break;
        case Op::newline: end_line(s.text); break;
        case Op::variable:
        case Op::raw_variable: {
          const Frame f = lookup(s);
          if (f.kind() != Frame::Kind::string) break;
          const auto& text = std::get<std::string>(f.value->value);
          if (html && s.op == Op::variable) append_html_escaped(out, text);
          else out.append(text);
          break;
        }
        case Op::section: {
          const Frame f = lookup(s);
          const auto kind = f.kind();
          if (kind == Frame::Kind::list) {
            for (const auto& item : std::get<std::vector<TemplateMap>>(f.value->value)) section(i + 1, s.end, Frame{&item, nullptr});
          } else if (kind != Frame::Kind::missing && kind != Frame::Kind::falsy) {
            section(i + 1, s.end, f);
          }
          i = s.end - 1;
          break;
        }
        case Op::inverted: {
          const Frame f = lookup(s);
          const auto kind = f.kind();
          if (kind == Frame::Kind::missing) section(i + 1, s.end, std::nullopt);
          else if (kind == Frame::Kind::falsy) section(i + 1, s.end, f);
          i = s.end - 1;
          break;
        }
      }
    }
  }
};

void TemplateProgram::render(const TemplateMap& values, bool html, std::string& out) const {
  Render r{steps_, html, out, {Frame{&values, nullptr}}, out.size()};
  r.run(0, steps_.size());
  r.end_line({});
}

std::string strip_standalone_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view line = text.substr(0, eol == std::string_view::npos ? text.size() : eol + 1);
    text.remove_prefix(line.size());
    if (line == "\n" || line == "\r\n") {
      out.push_back(blank_line_marker);
      out.append(line);
      continue;
    }
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) trimmed.remove_prefix(1);
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == ' ' || trimmed.back() == '\t')) {
      trimmed.remove_suffix(1);
    }
    const bool standalone = trimmed.size() > 5 && trimmed.starts_with("{{") && trimmed.ends_with("}}") &&
                            std::string_view("#^/!").find(trimmed[2]) != std::string_view::npos &&
                            trimmed.find("}}") == trimmed.size() - 2;
    out.append(standalone ? trimmed : line);
  }
  return out;
}

void append_html_escaped(std::string& out, std::string_view s) {
  std::size_t done = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char* entity = nullptr;
    switch (s[i]) {
      case '&': entity = "&amp;"; break;
      case '<': entity = "&lt;"; break;
      case '>': entity = "&gt;"; break;
      case '"': entity = "&quot;"; break;
      case '\'': entity = "&#39;"; break;
      default: continue;
    }
    out.append(s.substr(done, i - done));
    out.append(entity);
    done = i + 1;
  }
  out.append(s.substr(done));
}

}  // namespace sinetti::i18n::detail
