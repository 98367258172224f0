// Portal pages: which language a request gets (the link's ?lang= hint, then Accept-Language, then
// instance.default_language, always one of instance.languages) and a page rendered from its
// template (`KIND.LANG.html`, HTML-escaped) inside the layout (`layout.LANG.html`: <html lang>, the
// language switch, the accessibility statement link). Untrusted input: the query string and the
// Accept-Language header; values put into pages are escaped by the templates.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/portal/http.hpp"

namespace sinetti::portal {

// "fi", "sv", "en" → the language, if the instance offers it.
std::optional<config::Language> offered_language(const config::Config& config, std::string_view code);

// The ?lang= hint, then Accept-Language (RFC 9110 §12.5.4, q-values honoured, the first 32 ranges
// looked at), then the instance default.
config::Language choose_language(const Request& request, const config::Config& config);

// The page `kind` inside the layout. `path` is the page's own path, which the language switch links
// to with ?lang=. The values "lang" and "organisation" are added here.
Result<std::string> render_page(const i18n::Templates& templates, const config::Config& config,
                                config::Language language, std::string_view kind, i18n::TemplateMap values,
                                std::string_view path);

// "1.2 MB", "340 kB", "12 bytes" (SI units; fi and sv use a decimal comma).
std::string format_size(std::uint64_t bytes, config::Language language);

// The one stylesheet, /static/portal.css (embedded from gateway/portal/static/).
std::string_view stylesheet();

}  // namespace sinetti::portal
