// Templates for what Sinetti writes to people: notification mails and portal pages. Mustache
// (kainjow/mustache) behind a small value type; the built-in templates come from config/templates/
// and an operator's directory (notifications.templates_dir) overrides them file by file.
// Input: operator-written template files; values come from configuration and the gateway, never
// from message content.
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "sinetti/result.hpp"

namespace sinetti::i18n {

struct TemplateValue;

// The values one template is rendered with, name → value. A page has a few dozen of them and a
// render looks each one up, so they are kept sorted by name in one vector: built with one
// allocation and searched in contiguous memory (a std::map allocated a node per value and chased
// pointers on every lookup, 7 % of a landing page's CPU). As with std::map, iteration is in name
// order, and of duplicate names in an initializer list the first one counts.
class TemplateMap {
 public:
  using value_type = std::pair<std::string, TemplateValue>;
  using const_iterator = std::vector<value_type>::const_iterator;

  TemplateMap() = default;
  TemplateMap(std::initializer_list<value_type> entries);  // NOLINT: implicit, like std::map's

  const_iterator begin() const;
  const_iterator end() const;
  std::size_t size() const;
  bool empty() const;
  const_iterator find(std::string_view name) const;
  bool contains(std::string_view name) const;

  // Adds `name`, or replaces its value.
  void insert_or_assign(std::string name, TemplateValue value);
  // Adds `name` unless it is there already (then the old value stays); true if added.
  bool emplace(std::string name, TemplateValue value);

 private:
  std::vector<value_type>::iterator lower_bound(std::string_view name);
  std::vector<value_type> entries_;
};

struct TemplateValue {
  std::variant<std::string, bool, std::vector<TemplateMap>> value;
  TemplateValue(std::string s) : value(std::move(s)) {}          // NOLINT: implicit by design
  TemplateValue(const char* s) : value(std::string(s)) {}        // NOLINT
  TemplateValue(bool b) : value(b) {}                            // NOLINT
  TemplateValue(std::vector<TemplateMap> list) : value(std::move(list)) {}  // NOLINT
};

inline TemplateMap::const_iterator TemplateMap::begin() const { return entries_.begin(); }
inline TemplateMap::const_iterator TemplateMap::end() const { return entries_.end(); }
inline std::size_t TemplateMap::size() const { return entries_.size(); }
inline bool TemplateMap::empty() const { return entries_.empty(); }
inline bool TemplateMap::contains(std::string_view name) const { return find(name) != end(); }

enum class Escape { none, html };

// A rendered mail template: its Subject line and body.
struct RenderedMail {
  std::string subject;
  std::string body;
};

// A rendered portal page template (`KIND.LANG.html`): its Title line and the HTML body.
struct RenderedPage {
  std::string title;
  std::string body;
};

class Templates {
 public:
  // Built-in templates, overridden by `*.txt` and `*.html` files in `override_dir` when given. Every template is
  // parsed here, once: renders use the parsed form (a changed file shows after the next load, i.e.
  // SIGHUP); the error names the file and what is wrong. Rendering is thread-safe.
  static Result<std::shared_ptr<const Templates>> load(const std::optional<std::filesystem::path>& override_dir);

  // `KIND.LANG.txt` rendered; a kind missing in that language falls back to English, then Finnish.
  Result<std::string> render(std::string_view kind, config::Language language, const TemplateMap& values,
                             Escape escape = Escape::none) const;
  // A mail template: "Subject: ..." header lines, an empty line, the body.
  Result<RenderedMail> render_mail(std::string_view kind, config::Language language, const TemplateMap& values) const;

  // A page template, HTML-escaped: "Title: ..." first, an empty line, then the HTML.
  Result<RenderedPage> render_page(std::string_view kind, config::Language language, const TemplateMap& values) const;

  // Which file each template came from ("built-in" or a path), for check-config.
  std::vector<std::pair<std::string, std::string>> sources() const;

  struct Compiled;

 private:
  std::map<std::string, std::shared_ptr<const Compiled>, std::less<>> templates_;  // by file name
};

}  // namespace sinetti::i18n
