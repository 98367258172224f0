// Content detectors: find personal data in decoded text — Finnish personal identity codes
// (henkilötunnus), IBANs (ISO 13616) and configurable keyword or regular-expression lists.
// Untrusted input: decoded message text of any size. Matches carry kind and position only, never the
// matched value, so nothing found here can leak into logs or explain output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::routing {

// A match: byte offset and length in the scanned text.
struct TextSpan {
  std::size_t offset = 0;
  std::size_t length = 0;
  friend bool operator==(const TextSpan&, const TextSpan&) = default;
};

// DDMMYY + century sign + NNN + check character (REFERENCES.md). Century signs: '+' 1800s,
// '-' 'Y' 'X' 'W' 'V' 'U' 1900s, 'A'..'F' 2000s. Check: DDMMYYNNN mod 31 indexes
// "0123456789ABCDEFHJKLMNPRSTUVWXY". The date must exist; NNN 002-999 (900-999 temporary codes count).
// Codes are written upper-case: is_valid_identity_code accepts only that canonical form (it also
// serves values that must be exact, such as a `hetu` claim). find_identity_codes also accepts a
// lower-case century sign and check character, because people type them and they are still
// personal data. Neither rejects dates in the future: detection does not depend on the clock.
bool is_valid_identity_code(std::string_view code);

// Every valid identity code in `text`. A code must stand alone: the characters before and after it
// are not letters or digits (a line break counts as a boundary). Letters, digits and combining
// marks of any script glue to a code ("ä010594Y9032" is one word); punctuation, spaces and symbols,
// ASCII or not ("“”", NBSP, "…", "–", "€", emoji), and bytes that are not well-formed UTF-8 do not.
// A code broken by one line break (LF or CRLF, optionally followed by spaces or a quote prefix
// "> ") still counts: any run of spaces, tabs and '>' may follow the break, which may fall between
// any two characters of the code; the span runs from the code's first to its last character.
// One pass, linear in the size of the text; allocates only the result.
std::vector<TextSpan> find_identity_codes(std::string_view text);

// IBAN: two-letter country, two check digits, BBAN; mod 97 == 1, length per country where known.
// Accepts print form with single spaces between groups of four ("FI21 1234 5600 0007 85").
// Letters must be upper-case (ISO 13616-1 electronic form). Check digits 00, 01 and 99 are refused
// (MOD 97-10 gives 02..98). Lengths are checked for the SEPA countries; for other country codes
// only the structure (15-34 characters) and the check digits are checked.
bool is_valid_iban(std::string_view iban);
// Standalone IBANs in `text` (boundaries as for identity codes), in electronic or print form. Print
// form groups are separated by ASCII spaces only and do not continue across line breaks. When text
// follows a print-form IBAN after a space, the longest valid reading is taken.
std::vector<TextSpan> find_ibans(std::string_view text);

// A configurable detector: a keyword list (matched as whole words, Unicode case-insensitive unless
// asked otherwise) or a regular expression (PCRE2, UTF-8, with match and depth limits so hostile text
// cannot make it run away).
// Both compile once to a PCRE2 pattern with UTF, UCP (\w, \d, \b and case folding are Unicode-aware)
// and MATCH_INVALID_UTF: an invalid UTF-8 sequence in the text matches nothing and acts as a word
// boundary. Text is not Unicode-normalised (a keyword in NFC does not match the same word in NFD).
// A detector is immutable; find() and scan() may run concurrently from any number of threads.
class PatternDetector {
 public:
  // Per-match-attempt limits handed to pcre2_match (pcre2api: the match counter restarts at each
  // start position in the text). Generous for real patterns; nested unlimited repeats on hostile
  // text reach them in milliseconds. PCRE2's own defaults are 10 million and 20 GB.
  static constexpr std::uint32_t match_limit = 1'000'000;
  static constexpr std::uint32_t depth_limit = 100'000;      // nested backtracking frames
  static constexpr std::uint32_t heap_limit_kib = 16 * 1024;  // backtracking memory per call

  // Keywords: each word (or phrase) is matched literally, as a whole word: no letter, digit, '_' or
  // combining mark directly before or after it. A run of white space inside a phrase matches any run
  // of white space, line breaks included ("salassa pidettävä" across a wrapped line). Leading and
  // trailing white space is ignored. Where keywords overlap, the longest one is reported.
  // Errors: an empty list, an empty keyword, a keyword that is not valid UTF-8, or a list too large
  // for one PCRE2 pattern (PCRE2's message).
  static Result<std::shared_ptr<const PatternDetector>> keywords(const std::vector<std::string>& words,
                                                                 bool case_sensitive);
  // Regular expression in PCRE2 syntax. Errors: an empty pattern, or PCRE2's message and the offset
  // in the pattern where compilation failed. \C is refused (it could split a UTF-8 character).
  static Result<std::shared_ptr<const PatternDetector>> regex(const std::string& pattern,
                                                              bool case_sensitive);
  virtual ~PatternDetector() = default;

  // The outcome of a scan. `limit_hit`: a match, depth or heap limit (or memory exhaustion) stopped
  // the scan early; `matches` holds what was found before it. A caller deciding whether text is
  // sensitive should treat a limit hit as "unknown", not as "no match".
  struct Scan {
    std::vector<TextSpan> matches;
    bool limit_hit = false;
  };

  // Matches in `text` (UTF-8; invalid sequences are tolerated), left to right, not overlapping;
  // empty matches are not reported. At most `max_matches` are returned. find() is scan() without
  // the limit flag.
  virtual std::vector<TextSpan> find(std::string_view text, std::size_t max_matches = 100) const = 0;
  virtual Scan scan(std::string_view text, std::size_t max_matches = 100) const = 0;
};

}  // namespace sinetti::routing
