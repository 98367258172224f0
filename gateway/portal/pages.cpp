#include "gateway/portal/pages.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace sinetti::portal {

namespace {

constexpr std::size_t max_language_ranges = 32;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "0.8" → 800; invalid → -1.
int parse_q(std::string_view q) {
  if (q.empty() || q.size() > 5) return -1;
  if (q[0] == '1') return 1000;
  if (q[0] != '0') return -1;
  int value = 0;
  int scale = 100;
  for (std::size_t i = 2; i < q.size(); ++i) {
    if (q[i] < '0' || q[i] > '9') return -1;
    value += (q[i] - '0') * scale;
    scale /= 10;
  }
  if (q.size() > 1 && q[1] != '.') return -1;
  return value;
}

const char* language_label(config::Language l) {
  switch (l) {
    case config::Language::fi: return "suomi";
    case config::Language::sv: return "svenska";
    case config::Language::en: return "English";
  }
  return "";
}

}  // namespace

std::optional<config::Language> offered_language(const config::Config& config, std::string_view code) {
  for (const auto l : config.instance.languages) {
    if (code == config::to_string(l)) return l;
  }
  return std::nullopt;
}

config::Language choose_language(const Request& request, const config::Config& config) {
  const auto query = parse_form(request.query());
  if (const auto it = query.find("lang"); it != query.end()) {
    if (const auto l = offered_language(config, it->second)) return *l;
  }
  if (const auto accept = request.header("accept-language")) {
    std::string_view rest = *accept;
    std::optional<config::Language> best;
    int best_q = 0;
    for (std::size_t n = 0; !rest.empty() && n < max_language_ranges; ++n) {
      const auto comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      int q = 1000;
      if (const auto semi = item.find(';'); semi != std::string_view::npos) {
        const std::string_view param = trim(item.substr(semi + 1));
        item = trim(item.substr(0, semi));
        if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') q = parse_q(param.substr(2));
      }
      if (q <= best_q) continue;
      const std::string primary = lower(item.substr(0, item.find('-')));
      if (const auto l = offered_language(config, primary)) {
        best = l;
        best_q = q;
      }
    }
    if (best) return *best;
  }
  if (offered_language(config, config::to_string(config.instance.default_language))) return config.instance.default_language;
  return config.instance.languages.empty() ? config.instance.default_language : config.instance.languages.front();
}

Result<std::string> render_page(const i18n::Templates& templates, const config::Config& config,
                                config::Language language, std::string_view kind, i18n::TemplateMap values,
                                std::string_view path) {
  values.insert_or_assign("lang", config::to_string(language));
  values.insert_or_assign("organisation", config.instance.name);
  auto page = templates.render_page(kind, language, values);
  if (!page) return page.error();
  std::vector<i18n::TemplateMap> languages;
  for (const auto l : config.instance.languages) {
    languages.push_back({{"code", config::to_string(l)},
                         {"label", language_label(l)},
                         {"href", std::string(path) + "?lang=" + config::to_string(l)},
                         {"current", l == language}});
  }
  // Emplaced, not an initializer list: that would copy the page's body and the language list again.
  i18n::TemplateMap layout;
  layout.emplace("lang", config::to_string(language));
  layout.emplace("organisation", config.instance.name);
  layout.emplace("title", std::move(page->title));
  layout.emplace("content", std::move(page->body));
  layout.emplace("languages", std::move(languages));
  return templates.render("layout", language, layout, i18n::Escape::html);
}

std::string format_size(std::uint64_t bytes, config::Language language) {
  char buffer[32];
  if (bytes < 1000) {
    const char* unit = language == config::Language::fi ? " tavua" : language == config::Language::sv ? " byte" : " bytes";
    return std::to_string(bytes) + unit;
  }
  const double kb = static_cast<double>(bytes) / 1000.0;
  const double mb = kb / 1000.0;
  const double gb = mb / 1000.0;
  if (gb >= 1.0) std::snprintf(buffer, sizeof buffer, "%.1f GB", gb);
  else if (mb >= 1.0) std::snprintf(buffer, sizeof buffer, "%.1f MB", mb);
  else std::snprintf(buffer, sizeof buffer, "%.0f kB", kb);
  std::string out(buffer);
  if (language != config::Language::en) std::replace(out.begin(), out.end(), '.', ',');
  return out;
}

}  // namespace sinetti::portal
