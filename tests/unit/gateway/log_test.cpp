// The JSON-lines event log: one valid JSON object per line, whatever the values hold.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "gateway/log.hpp"

using namespace sinetti;

namespace {

struct Captured {
  std::vector<std::string> lines;
  log::Logger::Sink sink() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(gateway_log)

BOOST_AUTO_TEST_CASE(one_json_object_per_line_with_time_level_and_event) {
  Captured out;
  ManualClock clock(std::chrono::system_clock::time_point(std::chrono::milliseconds(1763982480123)));
  log::Logger logger(out.sink(), &clock);
  logger.info("listening", {{"listener", "admin"}, {"address", "127.0.0.1:9090"}});
  BOOST_REQUIRE(out.lines.size() == 1u);
  BOOST_TEST(out.lines[0] ==
             "{\"ts\":\"2025-11-24T11:08:00.123Z\",\"level\":\"info\",\"event\":\"listening\","
             "\"listener\":\"admin\",\"address\":\"127.0.0.1:9090\"}\n");
}

BOOST_AUTO_TEST_CASE(values_are_escaped_and_invalid_utf8_replaced) {
  Captured out;
  ManualClock clock;
  log::Logger logger(out.sink(), &clock);
  logger.error("config_error", {{"error", std::string("a\"b\\c\nd\te\x01 \xc3\xa4 \xff\xc3 \xe2\x82\xac")},
                                {"count", 3},
                                {"port", std::uint16_t{9090}},
                                {"ok", false}});
  BOOST_REQUIRE(out.lines.size() == 1u);
  const auto& line = out.lines[0];
  BOOST_TEST(line.find(R"("error":"a\"b\\c\nd\te\u0001 ä �� €")") != std::string::npos, line);
  BOOST_TEST(line.find(R"("count":3,"port":9090,"ok":false})") != std::string::npos, line);
  BOOST_TEST(line.find("\"level\":\"error\"") != std::string::npos);
  BOOST_TEST(line.find("\"ts\":\"1970-01-01T00:00:00.000Z\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(overlong_and_surrogate_sequences_are_replaced) {
  std::string out;
  log::append_json_string(out, "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xf0\x9f\x98\x80");
  BOOST_TEST(out == "\"\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80\"");
}

BOOST_AUTO_TEST_CASE(timestamps_follow_the_clock_across_seconds_and_back) {
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  const std::vector<std::pair<long long, std::string>> cases{
      {1763982480123, "2025-11-24T11:08:00.123Z"}, {1763982480999, "2025-11-24T11:08:00.999Z"},
      {1763982481000, "2025-11-24T11:08:01.000Z"}, {1763982479500, "2025-11-24T11:07:59.500Z"},
      {1763982480001, "2025-11-24T11:08:00.001Z"}, {1767225599999, "2025-12-31T23:59:59.999Z"},
      {1767225600000, "2026-01-01T00:00:00.000Z"}, {-1, "1969-12-31T23:59:59.999Z"},
  };
  for (const auto& [ms, text] : cases) {
    BOOST_TEST(log::format_timestamp(system_clock::time_point(milliseconds(ms))) == text, ms);
  }
}

BOOST_AUTO_TEST_CASE(lines_below_the_minimum_level_are_dropped) {
  Captured out;
  log::Logger logger(out.sink(), nullptr, log::Level::warning);
  logger.info("quiet");
  logger.warning("loud");
  BOOST_REQUIRE(out.lines.size() == 1u);
  BOOST_TEST(out.lines[0].find("\"event\":\"loud\"") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
