// Loading and checking templates (kainjow/mustache) and rendering them (template_engine.hpp).
#include "gateway/i18n/templates.hpp"

#include <kainjow/mustache.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>

#include "gateway/i18n/builtin_templates.hpp"
#include "gateway/i18n/template_engine.hpp"

namespace sinetti::i18n {

// ---- TemplateMap ----------------------------------------------------------------------------------

TemplateMap::TemplateMap(std::initializer_list<value_type> entries) {
  // Sorted as pointers (an insertion sort: stable, and a page's lists are a few dozen long), then
  // copied once in that order: stable_sort moved the pairs themselves through a buffer, and that
  // cost most of what building the map took.
  std::vector<const value_type*> order;
  order.reserve(entries.size());
  for (const auto& e : entries) {
    auto at = order.end();
    while (at != order.begin() && e.first < (*(at - 1))->first) --at;
    order.insert(at, &e);
  }
  entries_.reserve(order.size());
  for (const auto* e : order) {
    if (entries_.empty() || entries_.back().first != e->first) entries_.push_back(*e);
  }
}

std::vector<TemplateMap::value_type>::iterator TemplateMap::lower_bound(std::string_view name) {
  return std::lower_bound(entries_.begin(), entries_.end(), name,
                          [](const value_type& e, std::string_view n) { return std::string_view(e.first) < n; });
}

TemplateMap::const_iterator TemplateMap::find(std::string_view name) const {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                                   [](const value_type& e, std::string_view n) { return std::string_view(e.first) < n; });
  return it != entries_.end() && it->first == name ? it : entries_.end();
}

void TemplateMap::insert_or_assign(std::string name, TemplateValue value) {
  const auto it = lower_bound(name);
  if (it != entries_.end() && it->first == name) {
    it->second = std::move(value);
  } else {
    entries_.emplace(it, std::move(name), std::move(value));
  }
}

bool TemplateMap::emplace(std::string name, TemplateValue value) {
  const auto it = lower_bound(name);
  if (it != entries_.end() && it->first == name) return false;
  entries_.emplace(it, std::move(name), std::move(value));
  return true;
}

// A template parsed once, when the set is loaded: kainjow/mustache checks it (and words the error an
// operator sees), and the same text is parsed into the program every render runs (template_engine.hpp).
// A set loaded again (SIGHUP) parses its files again into new Compiled objects.
struct Templates::Compiled {
  std::string source;  // "built-in" or the file's path
  bool html = false;   // escaping by the file's extension
  std::size_t size_hint = 0;  // what a render is reserved for: the text and some room for values
  detail::TemplateProgram program;

  Compiled(std::string src, bool is_html, detail::TemplateProgram p, std::size_t text_size)
      : source(std::move(src)), html(is_html), size_hint(text_size + text_size / 4 + 256), program(std::move(p)) {}
};

namespace {

constexpr std::size_t max_template_bytes = 256 * 1024;

// Pages (`.html`) escape values for HTML; mail templates (`.txt`) take them as they are.
bool is_html(std::string_view file) { return file.ends_with(".html"); }

Result<std::string> read_small_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error("cannot read template " + path.string() + ": " + ec.message());
  if (size > max_template_bytes) return make_error("template " + path.string() + " is larger than 256 KiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read template " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Mustache's "standalone" rule — a line holding only a section, inverted-section, end or comment tag
// leaves no line behind — which this version of kainjow/mustache applies only to sections that are
// rendered. Such lines are reduced to the bare tag before parsing (detail::strip_standalone_lines).
// kainjow also drops any rendered line that is blank and touched a section tag, which would eat a
// deliberate empty line after a section; empty lines are therefore held open with a marker byte
// (detail::blank_line_marker) that render() removes again.
Result<std::shared_ptr<const Templates::Compiled>> compile(std::string source, std::string_view name,
                                                          std::string_view text) {
  const std::string prepared = detail::strip_standalone_lines(text);
  const std::string where = source == "built-in" ? std::string(name) : source;
  kainjow::mustache::mustache checked(prepared);
  if (!checked.is_valid()) return make_error("template " + where + ": " + checked.error_message());
  auto program = detail::TemplateProgram::parse(prepared);
  if (!program) return make_error("template " + where + ": " + program.error().message);
  return std::make_shared<const Templates::Compiled>(std::move(source), is_html(name), std::move(*program), prepared.size());
}

}  // namespace

Result<std::shared_ptr<const Templates>> Templates::load(const std::optional<std::filesystem::path>& override_dir) {
  auto t = std::make_shared<Templates>();
  for (const auto& b : detail::builtin_templates()) {
    auto compiled = compile("built-in", b.file, b.text);
    if (!compiled) return compiled.error();
    t->templates_.emplace(std::string(b.file), std::move(*compiled));
  }
  if (override_dir) {
    std::error_code ec;
    std::filesystem::directory_iterator it(*override_dir, ec);
    if (ec) return make_error("cannot read templates directory " + override_dir->string() + ": " + ec.message());
    for (const auto& entry : it) {
      const auto name = entry.path().filename().string();
      if (entry.path().extension() != ".txt" && entry.path().extension() != ".html") continue;
      if (!t->templates_.contains(name)) {
        return make_error("template " + entry.path().string() + ": no built-in template is called " + name +
                          " (a misspelt name would silently not apply)");
      }
      auto text = read_small_file(entry.path());
      if (!text) return text.error();
      auto compiled = compile(entry.path().string(), name, *text);
      if (!compiled) return compiled.error();
      t->templates_[name] = std::move(*compiled);
    }
  }
  return std::shared_ptr<const Templates>(std::move(t));
}

Result<std::string> Templates::render(std::string_view kind, config::Language language, const TemplateMap& values,
                                      Escape escape) const {
  const std::string ext = escape == Escape::html ? ".html" : ".txt";
  const Compiled* found = nullptr;
  for (config::Language l : {language, config::Language::en, config::Language::fi}) {
    auto it = templates_.find(std::string(kind) + "." + config::to_string(l) + ext);
    if (it != templates_.end()) {
      found = it->second.get();
      break;
    }
  }
  if (found == nullptr) return make_error("no template " + std::string(kind) + ext);
  std::string out;
  out.reserve(found->size_hint);
  found->program.render(values, found->html, out);
  std::erase(out, detail::blank_line_marker);
  return out;
}

namespace {

// "NAME: value" lines up to the first empty line; the rest is the body.
Result<std::pair<std::string, std::string>> split_head(std::string_view kind, std::string_view text,
                                                       std::string_view field) {
  std::string value;
  std::string_view rest = text;
  const std::string prefix = std::string(field) + ":";
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (!line.starts_with(prefix)) {
      return make_error("template " + std::string(kind) + ": only a " + prefix + " line may precede the empty line");
    }
    line.remove_prefix(prefix.size());
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    value = std::string(line);
  }
  if (value.empty()) return make_error("template " + std::string(kind) + ": no " + prefix + " line");
  for (char& c : value) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return std::pair<std::string, std::string>(std::move(value), std::string(rest));
}

}  // namespace

Result<RenderedPage> Templates::render_page(std::string_view kind, config::Language language,
                                            const TemplateMap& values) const {
  auto text = render(kind, language, values, Escape::html);
  if (!text) return text.error();
  auto parts = split_head(kind, *text, "Title");
  if (!parts) return parts.error();
  return RenderedPage{std::move(parts->first), std::move(parts->second)};
}

Result<RenderedMail> Templates::render_mail(std::string_view kind, config::Language language,
                                            const TemplateMap& values) const {
  auto text = render(kind, language, values);
  if (!text) return text.error();
  RenderedMail mail;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line.starts_with("Subject:")) {
      line.remove_prefix(8);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      mail.subject = std::string(line);
    } else {
      return make_error("template " + std::string(kind) + ": only a Subject: line may precede the empty line");
    }
  }
  if (mail.subject.empty()) return make_error("template " + std::string(kind) + ": no Subject: line");
  // A value may not turn the subject into several header lines.
  for (char& c : mail.subject) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  mail.body = std::string(rest);
  return mail;
}

std::vector<std::pair<std::string, std::string>> Templates::sources() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, compiled] : templates_) out.emplace_back(name, compiled->source);
  return out;
}

}  // namespace sinetti::i18n
