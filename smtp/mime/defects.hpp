// Private to smtp/mime: collects non-fatal problems seen while reading one message (duplicates
// dropped, count capped so a hostile message cannot grow the list). Defect texts never quote message
// content (CONVENTIONS habit 9); at most a sanitized header or parameter name and a part number.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sinetti::mime::detail {

class Defects {
 public:
  static constexpr std::size_t max_kept = 64;

  void add(std::string text) {
    if (std::find(list_.begin(), list_.end(), text) != list_.end()) return;
    if (list_.size() < max_kept) {
      list_.push_back(std::move(text));
    } else if (!overflowed_) {
      overflowed_ = true;
      list_.push_back("more defects not listed");
    }
  }
  std::vector<std::string> take() { return std::move(list_); }

  // Keeps only characters that can appear in a header field or parameter name, at most 40 of them,
  // so a name can be named in a defect without carrying message content or control bytes.
  static std::string safe_name(std::string_view name) {
    std::string out;
    for (char c : name) {
      if (out.size() >= 40) break;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == '*') {
        out.push_back(c);
      }
    }
    return out;
  }

 private:
  std::vector<std::string> list_;
  bool overflowed_ = false;
};

}  // namespace sinetti::mime::detail
