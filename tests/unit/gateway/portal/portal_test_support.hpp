// What the portal's handler tests share: a cookie jar that follows Set-Cookie like a browser
// (name=value only), and a hidden form field's value out of a rendered page.
#pragma once

#include <map>
#include <regex>
#include <string>

#include "gateway/portal/http.hpp"

namespace portal_test {

struct Jar {
  std::map<std::string, std::string> cookies;
  void take(const sinetti::portal::Response& r) {
    for (const auto& [name, value] : r.headers) {
      if (name != "Set-Cookie") continue;
      const auto eq = value.find('=');
      const auto semi = value.find(';');
      cookies[value.substr(0, eq)] = value.substr(eq + 1, semi - eq - 1);
    }
  }
  std::string header() const {
    std::string out;
    for (const auto& [n, v] : cookies) out += (out.empty() ? "" : "; ") + n + "=" + v;
    return out;
  }
};

inline std::string field(const std::string& html, const std::string& name) {
  const std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
  std::smatch m;
  if (!std::regex_search(html, m, re)) return {};
  return m[1];
}

}  // namespace portal_test
