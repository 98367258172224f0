// Configurable content detectors: keyword lists and regular expressions, both run by PCRE2 (the one
// place Sinetti uses libpcre2-8, CONVENTIONS habit 5) under match, depth and heap limits. Untrusted
// input: decoded message text of any size, possibly invalid UTF-8. Patterns come from the config.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "gateway/routing/detectors.hpp"

#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/routing/text_boundary.hpp"

namespace sinetti::routing {

namespace {

struct CodeFree {
  void operator()(pcre2_code* code) const noexcept { pcre2_code_free(code); }
};
struct MatchContextFree {
  void operator()(pcre2_match_context* context) const noexcept { pcre2_match_context_free(context); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* data) const noexcept { pcre2_match_data_free(data); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeFree>;
using MatchContextPtr = std::unique_ptr<pcre2_match_context, MatchContextFree>;
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataFree>;

// UTF-8 in the pattern, Unicode \w \d \b and case folding, invalid UTF-8 in the text tolerated (it
// matches nothing), and no \C, which matches one byte and could split a character.
constexpr std::uint32_t base_compile_options =
    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;

std::string pcre2_error_message(int error_code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  const int rc = pcre2_get_error_message(error_code, buffer.data(), buffer.size());
  if (rc < 0 && rc != PCRE2_ERROR_NOMEMORY) return "PCRE2 error " + std::to_string(error_code);
  return std::string(reinterpret_cast<const char*>(buffer.data()));  // NOMEMORY: truncated, terminated
}

// One compiled pattern with its match limits; immutable after construction, so it is shared by
// concurrent scans. Each scan owns its match data.
class Pcre2PatternDetector final : public PatternDetector {
 public:
  Pcre2PatternDetector(CodePtr code, MatchContextPtr context)
      : code_(std::move(code)), context_(std::move(context)) {}

  std::vector<TextSpan> find(std::string_view text, std::size_t max_matches) const override {
    return scan(text, max_matches).matches;
  }

  Scan scan(std::string_view text, std::size_t max_matches) const override {
    Scan result;
    if (max_matches == 0) return result;
    const MatchDataPtr match_data(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
    if (!match_data) {
      result.limit_hit = true;
      return result;
    }
    const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    PCRE2_SIZE start = 0;
    std::uint32_t options = 0;
    while (start <= text.size()) {
      const int rc = pcre2_match(code_.get(), subject, text.size(), start, options, match_data.get(),
                                 context_.get());
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {  // MATCHLIMIT, DEPTHLIMIT, HEAPLIMIT or NOMEMORY: keep what was found
        result.limit_hit = true;
        break;
      }
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data.get());
      const PCRE2_SIZE match_start = ovector[0];
      const PCRE2_SIZE match_end = ovector[1];
      PCRE2_SIZE next_start = 0;
      std::uint32_t next_options = 0;
      if (match_end > match_start) {
        result.matches.push_back(TextSpan{match_start, match_end - match_start});
        if (result.matches.size() >= max_matches) break;
        next_start = match_end;
      } else {
        // An empty match is not reported. Search again from there with NOTEMPTY_ATSTART (pcre2api on
        // finding all the matches): a match that starts there is non-empty, any other starts later.
        // Unlike pcre2demo, no ANCHORED retry: empty matches are skipped, not reported.
        next_start = std::max(match_start, match_end);
        next_options = PCRE2_NOTEMPTY_ATSTART;
      }
      // Every round must move on; anything else (impossible by the above) would loop forever.
      if (next_start < start || (next_start == start && next_options <= options)) break;
      start = next_start;
      options = next_options;
    }
    return result;
  }

 private:
  CodePtr code_;
  MatchContextPtr context_;
};

Result<std::shared_ptr<const PatternDetector>> compile(const std::string& pattern, bool case_sensitive,
                                                       std::string_view what) {
  const std::uint32_t options = base_compile_options | (case_sensitive ? 0U : PCRE2_CASELESS);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  CodePtr code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                             &error_code, &error_offset, nullptr));
  if (!code) {
    return make_error(std::string(what) + " does not compile at offset " + std::to_string(error_offset) +
                      ": " + pcre2_error_message(error_code));
  }
  MatchContextPtr context(pcre2_match_context_create(nullptr));
  if (!context) return make_error("out of memory creating a PCRE2 match context");
  pcre2_set_match_limit(context.get(), PatternDetector::match_limit);
  pcre2_set_depth_limit(context.get(), PatternDetector::depth_limit);
  pcre2_set_heap_limit(context.get(), PatternDetector::heap_limit_kib);
  std::shared_ptr<const PatternDetector> detector =
      std::make_shared<const Pcre2PatternDetector>(std::move(code), std::move(context));
  return detector;
}

constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_ascii_space(std::string_view s) noexcept {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t pos = 0; pos < s.size();) {
    const auto decoded = detail::decode_utf8_at(s, pos);
    if (!decoded) return false;
    pos += decoded->length;
  }
  return true;
}

// The keyword as a pattern that matches it literally: ASCII letters and digits and all non-ASCII
// characters as themselves, other ASCII as \x{hh} (never special, whatever follows), a run of
// white space as \s+.
std::string keyword_pattern(std::string_view word) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(word.size() * 2);
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    const auto byte = static_cast<unsigned char>(c);
    if (is_ascii_space(c)) {
      while (i + 1 < word.size() && is_ascii_space(word[i + 1])) ++i;
      out += "\\s+";
    } else if (detail::is_ascii_alnum(c) || byte >= 0x80U) {
      out += c;
    } else {
      out += "\\x{";
      out += hex[byte >> 4U];
      out += hex[byte & 0x0FU];
      out += '}';
    }
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<const PatternDetector>> PatternDetector::keywords(const std::vector<std::string>& words,
                                                                         bool case_sensitive) {
  if (words.empty()) return make_error("keyword list is empty");
  std::vector<std::string_view> trimmed;
  trimmed.reserve(words.size());
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = trim_ascii_space(words[i]);
    if (word.empty()) return make_error("keyword " + std::to_string(i + 1) + " is empty");
    if (!is_valid_utf8(word)) return make_error("keyword " + std::to_string(i + 1) + " is not valid UTF-8");
    trimmed.push_back(word);
  }
  // PCRE2 takes the first alternative that matches, so longer keywords go first: "salassa pidettävä"
  // before "salassa".
  std::stable_sort(trimmed.begin(), trimmed.end(),
                   [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  // Whole words: no word character or combining mark directly before or after. Lookarounds rather
  // than \b, so keywords that begin or end with punctuation ("c++", "#salainen") work too.
  std::string pattern = "(?<![\\w\\p{M}])(?:";
  for (std::size_t i = 0; i < trimmed.size(); ++i) {
    if (i != 0) pattern += '|';
    pattern += keyword_pattern(trimmed[i]);
  }
  pattern += ")(?![\\w\\p{M}])";
  return compile(pattern, case_sensitive, "keyword list");
}

Result<std::shared_ptr<const PatternDetector>> PatternDetector::regex(const std::string& pattern,
                                                                      bool case_sensitive) {
  if (pattern.empty()) return make_error("regular expression is empty");
  return compile(pattern, case_sensitive, "regular expression");
}

}  // namespace sinetti::routing
