#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/routing/detectors.hpp"
#include "tests/unit/gateway/routing/span_printing.hpp"

using sinetti::routing::PatternDetector;
using sinetti::routing::TextSpan;

namespace {

std::shared_ptr<const PatternDetector> keywords(const std::vector<std::string>& words, bool case_sensitive = false) {
  auto detector = PatternDetector::keywords(words, case_sensitive);
  BOOST_TEST_REQUIRE(detector.ok(), (detector.ok() ? "" : detector.error().message));
  return *detector;
}

std::shared_ptr<const PatternDetector> regex(const std::string& pattern, bool case_sensitive = true) {
  auto detector = PatternDetector::regex(pattern, case_sensitive);
  BOOST_TEST_REQUIRE(detector.ok(), (detector.ok() ? "" : detector.error().message));
  return *detector;
}

std::vector<TextSpan> one(std::size_t offset, std::size_t length) { return {TextSpan{offset, length}}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(pattern_detector)

BOOST_AUTO_TEST_CASE(keywords_match_whole_words_only) {
  const auto detector = keywords({"salainen"});
  BOOST_TEST(detector->find("T\xC3\xA4m\xC3\xA4 on salainen viesti") == one(10, 8));
  BOOST_TEST(detector->find("salainen") == one(0, 8));
  BOOST_TEST(detector->find("(salainen).") == one(1, 8));
  BOOST_TEST(detector->find("salaisempi").empty());
  BOOST_TEST(detector->find("salainen2").empty());
  BOOST_TEST(detector->find("_salainen").empty());
  // A Finnish letter is a word character: "epäsalainen" is another word.
  BOOST_TEST(detector->find("ep\xC3\xA4salainen").empty());
  BOOST_TEST(detector->find("salainen\xC3\xA4").empty());
}

BOOST_AUTO_TEST_CASE(keywords_fold_finnish_letters) {
  const auto lower = keywords({"henkil\xC3\xB6tunnus"});  // henkilötunnus, 14 bytes
  BOOST_TEST(lower->find("HENKIL\xC3\x96TUNNUS: 010594Y9032") == one(0, 14));
  BOOST_TEST(lower->find("Henkil\xC3\xB6tunnus") == one(0, 14));
  const auto upper = keywords({"HENKIL\xC3\x96TUNNUS"});
  BOOST_TEST(upper->find("anna henkil\xC3\xB6tunnus") == one(5, 14));
  const auto aakkoset = keywords({"\xC3\xA4\xC3\xB6\xC3\xA5"});  // äöå
  BOOST_TEST(aakkoset->find("x \xC3\x84\xC3\x96\xC3\x85 y") == one(2, 6));  // ÄÖÅ
}

BOOST_AUTO_TEST_CASE(case_sensitive_keywords) {
  const auto detector = keywords({"Henkil\xC3\xB6tunnus"}, true);
  BOOST_TEST(detector->find("Henkil\xC3\xB6tunnus") == one(0, 14));
  BOOST_TEST(detector->find("HENKIL\xC3\x96TUNNUS").empty());
  BOOST_TEST(detector->find("henkil\xC3\xB6tunnus").empty());
}

BOOST_AUTO_TEST_CASE(keywords_are_literal) {
  const auto detector = keywords({"a.b", "c++", "(x)", "\\E[", "$1|^"});
  BOOST_TEST(detector->find("axb").empty());
  BOOST_TEST(detector->find("a.b") == one(0, 3));
  BOOST_TEST(detector->find("kieli c++ on") == one(6, 3));
  BOOST_TEST(detector->find("cc").empty());
  BOOST_TEST(detector->find("f (x) g") == one(2, 3));
  BOOST_TEST(detector->find("p \\E[ q") == one(2, 3));
  BOOST_TEST(detector->find("$1|^") == one(0, 4));
  BOOST_TEST(detector->find("1").empty());
}

BOOST_AUTO_TEST_CASE(keyword_phrases_match_across_white_space) {
  const auto detector = keywords({"  salassa pidett\xC3\xA4v\xC3\xA4 "});
  BOOST_TEST(detector->find("on salassa pidett\xC3\xA4v\xC3\xA4.") == one(3, 19));
  BOOST_TEST(detector->find("SALASSA\r\nPIDETT\xC3\x84V\xC3\x84") == one(0, 20));
  BOOST_TEST(detector->find("salassapidett\xC3\xA4v\xC3\xA4").empty());
}

BOOST_AUTO_TEST_CASE(the_longest_of_overlapping_keywords_wins) {
  const auto detector = keywords({"salassa", "salassa pidett\xC3\xA4v\xC3\xA4", "pidett\xC3\xA4v\xC3\xA4"});
  BOOST_TEST(detector->find("salassa pidett\xC3\xA4v\xC3\xA4") == one(0, 19));
  BOOST_TEST(detector->find("salassa ja pidett\xC3\xA4v\xC3\xA4") == (std::vector<TextSpan>{{0, 7}, {11, 11}}));
}

BOOST_AUTO_TEST_CASE(keyword_lists_that_are_refused) {
  BOOST_TEST(!PatternDetector::keywords({}, false).ok());
  BOOST_TEST(!PatternDetector::keywords({""}, false).ok());
  BOOST_TEST(!PatternDetector::keywords({" \t\r\n"}, false).ok());
  const auto empty_second = PatternDetector::keywords({"ok", ""}, false);
  BOOST_TEST_REQUIRE(!empty_second.ok());
  BOOST_TEST(empty_second.error().message.find("keyword 2") != std::string::npos, empty_second.error().message);
  const auto bad_utf8 = PatternDetector::keywords({"ok", "\xFF" "x"}, false);
  BOOST_TEST_REQUIRE(!bad_utf8.ok());
  BOOST_TEST(bad_utf8.error().message.find("UTF-8") != std::string::npos, bad_utf8.error().message);
}

BOOST_AUTO_TEST_CASE(regex_finds_all_matches_up_to_the_limit) {
  const auto detector = regex("\\d{3}-\\d{4}");
  const std::string text = "111-1111 222-2222 x 333-3333 444-4444 555-5555";
  BOOST_TEST(detector->find(text).size() == 5U);
  BOOST_TEST(detector->find(text, 3) == (std::vector<TextSpan>{{0, 8}, {9, 8}, {20, 8}}));
  BOOST_TEST(detector->find(text, 0).empty());
  BOOST_TEST(detector->find("no numbers here").empty());
}

BOOST_AUTO_TEST_CASE(regex_is_unicode_aware) {
  // UCP: \w and \b know that ä is a letter.
  const auto word = regex("\\bp\xC3\xA4iv\xC3\xA4\\b");
  BOOST_TEST(word->find("hyv\xC3\xA4\xC3\xA4 p\xC3\xA4iv\xC3\xA4\xC3\xA4").empty());
  BOOST_TEST(word->find("hyv\xC3\xA4 p\xC3\xA4iv\xC3\xA4!") == one(6, 7));
  const auto letters = regex("\\w+");
  BOOST_TEST(letters->find("\xC3\xA4iti") == one(0, 5));
  const auto caseless = regex("salainen", false);
  BOOST_TEST(caseless->find("SALAINEN") == one(0, 8));
  BOOST_TEST(regex("salainen", true)->find("SALAINEN").empty());
  BOOST_TEST(regex("\xC3\xB6", false)->find("\xC3\x96") == one(0, 2));  // ö matches Ö
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_text_is_tolerated) {
  const std::string text = "\xFF\xFEsalainen\xC3 x \xED\xA0\x80salainen";  // stray bytes, a surrogate
  BOOST_TEST(regex("salainen")->find(text) == (std::vector<TextSpan>{{2, 8}, {17, 8}}));
  BOOST_TEST(keywords({"salainen"})->find(text) == (std::vector<TextSpan>{{2, 8}, {17, 8}}));
  BOOST_TEST(regex(".+")->find("ab\xFF" "cd") == (std::vector<TextSpan>{{0, 2}, {3, 2}}));
}

BOOST_AUTO_TEST_CASE(invalid_regex_reports_pcre2_message_and_offset) {
  const auto unclosed = PatternDetector::regex("(abc", true);
  BOOST_TEST_REQUIRE(!unclosed.ok());
  BOOST_TEST(unclosed.error().message.find("offset 4") != std::string::npos, unclosed.error().message);
  BOOST_TEST(unclosed.error().message.find("missing closing parenthesis") != std::string::npos,
             unclosed.error().message);
  const auto bad_class = PatternDetector::regex("a[b", false);
  BOOST_TEST_REQUIRE(!bad_class.ok());
  BOOST_TEST(bad_class.error().message.find("offset 3") != std::string::npos, bad_class.error().message);
  BOOST_TEST(!PatternDetector::regex("", true).ok());
  BOOST_TEST(!PatternDetector::regex("a\\Cb", true).ok());           // \C could split a character
  BOOST_TEST(!PatternDetector::regex("\xC3(", true).ok());           // pattern not UTF-8
}

BOOST_AUTO_TEST_CASE(catastrophic_backtracking_stops_at_the_limit) {
  const std::string hostile = std::string(5000, 'a') + "b";
  const auto detector = regex("(a+)+$");
  const PatternDetector::Scan scan = detector->scan(hostile);
  BOOST_TEST(scan.limit_hit);
  BOOST_TEST(scan.matches.empty());
  BOOST_TEST(detector->find(hostile).empty());
  // The same pattern on harmless text: a match, no limit.
  const PatternDetector::Scan harmless = detector->scan("xx aaaa");
  BOOST_TEST(!harmless.limit_hit);
  BOOST_TEST(harmless.matches == one(3, 4));
}

BOOST_AUTO_TEST_CASE(a_limit_hit_keeps_the_matches_found_before_it) {
  const auto detector = regex("x|(a+)+$");
  const PatternDetector::Scan scan = detector->scan("x x " + std::string(64, 'a') + "b");
  BOOST_TEST(scan.limit_hit);
  BOOST_TEST(scan.matches == (std::vector<TextSpan>{{0, 1}, {2, 1}}));
}

BOOST_AUTO_TEST_CASE(empty_matches_are_skipped_without_looping) {
  BOOST_TEST(regex("a*")->find("baaab") == one(1, 3));
  BOOST_TEST(regex("x?")->find("abc").empty());
  BOOST_TEST(regex("(?=a)")->find("aaaa").empty());
  BOOST_TEST(regex("\\b")->find("sana sana").empty());
  BOOST_TEST(regex("a*")->find("aa\xC3\xA4" "aa") == (std::vector<TextSpan>{{0, 2}, {4, 2}}));
}

BOOST_AUTO_TEST_CASE(one_detector_serves_concurrent_scans) {
  const auto detector = keywords({"salainen", "henkil\xC3\xB6tunnus"});
  std::string text;
  for (int i = 0; i < 200; ++i) text += "salainen ja HENKIL\xC3\x96TUNNUS; ";
  const std::vector<TextSpan> expected = detector->find(text, 1000);
  BOOST_TEST_REQUIRE(expected.size() == 400U);
  std::vector<std::vector<TextSpan>> results(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) results[t] = detector->find(text, 1000);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) BOOST_TEST(result == expected);
}

BOOST_AUTO_TEST_SUITE_END()
