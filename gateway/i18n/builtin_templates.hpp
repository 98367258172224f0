// Private to gateway/i18n: the templates under config/templates/, compiled into the binary.
#pragma once

#include <string_view>
#include <vector>

namespace sinetti::i18n::detail {

struct BuiltinTemplate {
  std::string_view file;  // "notification.fi.txt"
  std::string_view text;
};

const std::vector<BuiltinTemplate>& builtin_templates();

}  // namespace sinetti::i18n::detail
