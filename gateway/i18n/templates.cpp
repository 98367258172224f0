// Loading, checking and rendering templates with kainjow/mustache.
#include "gateway/i18n/templates.hpp"

#include <kainjow/mustache.hpp>

#include <fstream>
#include <iterator>
#include <mutex>
#include <system_error>

#include "gateway/i18n/builtin_templates.hpp"

namespace sinetti::i18n {

namespace mustache = kainjow::mustache;

namespace {

std::string html_escape(const std::string& s);
std::string no_escape(const std::string& s) { return s; }

}  // namespace

// A template parsed once, when the set is loaded. kainjow's render() is a non-const member (it
// records errors in the object), so renders never share one parsed tree: each takes a parsed copy
// from a small pool of idle ones (copying the prototype when the pool is empty) and hands it back
// afterwards. A set loaded again (SIGHUP) parses its files again into new Compiled objects.
struct Templates::Compiled {
  std::string source;  // "built-in" or the file's path
  std::optional<mustache::mustache> prototype;  // the parsed text; escaping by the file's extension

  static constexpr std::size_t max_idle = 32;  // parsed copies kept for reuse
  mutable std::mutex mutex;
  mutable std::vector<std::unique_ptr<mustache::mustache>> idle;  // guarded by mutex

  std::size_t size_hint = 0;  // what a render is reserved for: the text and some room for values

  Compiled(std::string src, const std::string& text, bool html) : source(std::move(src)) {
    size_hint = text.size() + text.size() / 4 + 256;
    prototype.emplace(text);
    prototype->set_custom_escape(html ? html_escape : no_escape);
  }

  std::unique_ptr<mustache::mustache> take() const {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto m = std::move(idle.back());
        idle.pop_back();
        return m;
      }
    }
    return std::make_unique<mustache::mustache>(*prototype);  // concurrent copies only read it
  }

  void give_back(std::unique_ptr<mustache::mustache> m) const {
    std::lock_guard lock(mutex);
    if (idle.size() < max_idle) idle.push_back(std::move(m));
  }
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
// rendered. Such lines are reduced to the bare tag before parsing. kainjow also drops any rendered
// line that is blank and touched a section tag, which would eat a deliberate empty line after a
// section; empty lines are therefore held open with a marker byte that render() removes again.
constexpr char blank_line_marker = '\x1f';

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

mustache::data to_data(const TemplateMap& values);

mustache::data to_data(const TemplateValue& v) {
  if (const auto* s = std::get_if<std::string>(&v.value)) return mustache::data(*s);
  if (const auto* b = std::get_if<bool>(&v.value)) return *b ? mustache::data(mustache::data::type::bool_true)
                                                             : mustache::data(mustache::data::type::bool_false);
  mustache::data list{mustache::data::type::list};
  for (const auto& item : std::get<std::vector<TemplateMap>>(v.value)) list.push_back(to_data(item));
  return list;
}

// Values are moved into place with operator[]: kainjow's set() copies the whole subtree again.
mustache::data to_data(const TemplateMap& values) {
  mustache::data d;
  for (const auto& [key, value] : values) {
    // An empty string counts as absent, so `{{#subject}}` sections disappear when there is none.
    if (const auto* s = std::get_if<std::string>(&value.value); s && s->empty()) {
      d[key] = mustache::data(mustache::data::type::bool_false);
      continue;
    }
    d[key] = to_data(value);
  }
  return d;
}

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<const Templates>> Templates::load(const std::optional<std::filesystem::path>& override_dir) {
  auto t = std::make_shared<Templates>();
  for (const auto& b : detail::builtin_templates()) {
    t->templates_.emplace(std::string(b.file),
                          std::make_shared<Compiled>("built-in", strip_standalone_lines(b.text), is_html(b.file)));
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
      t->templates_[name] = std::make_shared<Compiled>(entry.path().string(), strip_standalone_lines(*text), is_html(name));
    }
  }
  for (const auto& [name, compiled] : t->templates_) {
    if (!compiled->prototype->is_valid()) {
      return make_error("template " + (compiled->source == "built-in" ? name : compiled->source) + ": " +
                        compiled->prototype->error_message());
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
  auto tmpl = found->take();
  // Straight into one string: kainjow's own render(data) goes through an ostringstream, one
  // formatted insertion per line.
  std::string out;
  out.reserve(found->size_hint);
  tmpl->render(to_data(values), [&out](const std::string& piece) { out.append(piece); });
  std::erase(out, blank_line_marker);
  if (!tmpl->is_valid()) return make_error("template " + std::string(kind) + ": " + tmpl->error_message());
  found->give_back(std::move(tmpl));  // a copy that failed keeps its error: not reused
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
