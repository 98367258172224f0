#include <boost/test/unit_test.hpp>

#include "config/units.hpp"

using namespace sinetti::config;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(units)

BOOST_AUTO_TEST_CASE(durations) {
  BOOST_TEST(parse_duration("90s")->count() == 90);
  BOOST_TEST(parse_duration("10m")->count() == 600);
  BOOST_TEST(parse_duration("12h")->count() == 12 * 3600);
  BOOST_TEST(parse_duration("30d")->count() == 30 * 86400);
  BOOST_TEST(parse_duration("2w")->count() == 14 * 86400);
  BOOST_TEST(parse_duration("10y")->count() == 3650 * 86400);
  BOOST_TEST(parse_duration("0")->count() == 0);
  for (const char* bad : {"", "10", "m", "10 m", "1.5h", "-1m", "10min", "10M", "99999999999999999999s"}) {
    BOOST_TEST(!parse_duration(bad).ok(), bad);
  }
  BOOST_TEST(format_duration(600s) == "10m");
  BOOST_TEST(format_duration(Duration{30 * 86400}) == "30d");
  BOOST_TEST(format_duration(Duration{90}) == "90s");
  BOOST_TEST(format_duration(Duration{3650 * 86400}) == "10y");
}

BOOST_AUTO_TEST_CASE(sizes) {
  BOOST_TEST(*parse_size("512") == 512u);
  BOOST_TEST(*parse_size("512B") == 512u);
  BOOST_TEST(*parse_size("64KiB") == 65536u);
  BOOST_TEST(*parse_size("25MiB") == 25u * 1024 * 1024);
  BOOST_TEST(*parse_size("1GiB") == 1024u * 1024 * 1024);
  BOOST_TEST(*parse_size("10MB") == 10'000'000u);
  for (const char* bad : {"", "MiB", "25 MiB", "25mib", "1.5MiB", "-1", "25TiB", "99999999999GiB"}) {
    BOOST_TEST(!parse_size(bad).ok(), bad);
  }
  BOOST_TEST(format_size(35u * 1024 * 1024) == "35MiB");
  BOOST_TEST(format_size(1000) == "1000B");
}

BOOST_AUTO_TEST_SUITE_END()
