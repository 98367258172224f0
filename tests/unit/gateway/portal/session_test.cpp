// Portal sessions against a real SqliteStore and a manual clock: resuming records activity only
// when last_seen is older than the refresh interval, and the idle timeout still ends a session
// that was left alone (never later than the timeout after its last request), while one in steady
// use lives on.
#include <boost/test/unit_test.hpp>

#include "../store/store_fixture.hpp"
#include "gateway/portal/session.hpp"

using namespace sinetti;
using namespace sinetti::portal;
using namespace store_test;

namespace {

struct SessionFixture : Fixture {
  std::unique_ptr<SqliteStore> st = open();
  const std::vector<std::uint8_t> secret = std::vector<std::uint8_t>(32, 9);
  std::chrono::seconds idle{std::chrono::minutes(15)};
  SessionKeeper keeper{*st, crypto::ByteView(secret.data(), secret.size()), clock, idle, std::chrono::hours(12)};

  Request with_cookie(const LiveSession& s) const {
    Request r;
    r.method = "GET";
    r.target = "/";
    r.headers.emplace_back("cookie", std::string(session_cookie) + "=" + s.id);
    return r;
  }
  // last_seen as the store keeps it.
  Timestamp last_seen(const LiveSession& s) {
    auto found = st->find_session(s.id_hash);
    BOOST_REQUIRE(found.ok() && found->has_value());
    return (*found)->last_seen;
  }
  bool resumes(const LiveSession& s) {
    auto r = keeper.resume(with_cookie(s));
    BOOST_REQUIRE(r.ok());
    return r->has_value();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(portal_sessions)

BOOST_AUTO_TEST_CASE(the_refresh_interval_is_a_tenth_of_the_idle_timeout_at_most_a_minute) {
  using namespace std::chrono;
  BOOST_TEST(SessionKeeper::refresh_interval(minutes(15)).count() == 60);
  BOOST_TEST(SessionKeeper::refresh_interval(minutes(30)).count() == 60);
  BOOST_TEST(SessionKeeper::refresh_interval(minutes(5)).count() == 30);
  BOOST_TEST(SessionKeeper::refresh_interval(minutes(1)).count() == 6);
}

BOOST_FIXTURE_TEST_CASE(resuming_writes_last_seen_only_when_it_is_older_than_the_interval, SessionFixture) {
  auto s = keeper.create();
  BOOST_TEST_REQUIRE(s.ok());
  const auto created = last_seen(*s);
  BOOST_TEST((created == now()));

  clock.advance(std::chrono::seconds(30));
  BOOST_TEST(resumes(*s));
  BOOST_TEST((last_seen(*s) == created), "30 s after the last record: not written again");
  clock.advance(std::chrono::seconds(29));
  BOOST_TEST(resumes(*s));
  BOOST_TEST((last_seen(*s) == created));

  clock.advance(std::chrono::seconds(1));  // exactly the interval
  BOOST_TEST(resumes(*s));
  BOOST_TEST((last_seen(*s) == now()), "a minute old: recorded");
  const auto refreshed = last_seen(*s);
  clock.advance(std::chrono::seconds(5));
  BOOST_TEST(resumes(*s));
  BOOST_TEST((last_seen(*s) == refreshed));

  // Saving data always records activity.
  BOOST_TEST(keeper.save(*s).ok());
  BOOST_TEST((last_seen(*s) == now()));
}

BOOST_FIXTURE_TEST_CASE(a_session_in_steady_use_outlives_the_idle_timeout, SessionFixture) {
  auto s = keeper.create();
  BOOST_TEST_REQUIRE(s.ok());
  // A request every 50 s for an hour: never idle for 15 minutes.
  for (int i = 0; i < 72; ++i) {
    clock.advance(std::chrono::seconds(50));
    BOOST_TEST_REQUIRE(resumes(*s), "request " << i);
  }
  BOOST_TEST((now() - last_seen(*s) < SessionKeeper::refresh_interval(idle)));
}

BOOST_FIXTURE_TEST_CASE(a_session_left_alone_ends_no_later_than_the_idle_timeout, SessionFixture) {
  auto s = keeper.create();
  BOOST_TEST_REQUIRE(s.ok());
  clock.advance(std::chrono::seconds(61));
  BOOST_TEST(resumes(*s));  // recorded: last_seen is now
  clock.advance(std::chrono::seconds(59));
  BOOST_TEST(resumes(*s));  // the last request; not recorded (59 s < 1 min)
  // 15 minutes after the last request the session is over, whatever was recorded.
  clock.advance(idle - std::chrono::seconds(59) - std::chrono::seconds(1));
  BOOST_TEST(resumes(*s), "15 min after the last record, less a second");
  // That request was recorded (last_seen older than a minute): the session lives on from it.
  clock.advance(idle);
  BOOST_TEST(!resumes(*s), "idle for the whole timeout");
  // It was deleted, not just refused.
  auto found = st->find_session(s->id_hash);
  BOOST_TEST_REQUIRE(found.ok());
  BOOST_TEST(!found->has_value());
}

BOOST_FIXTURE_TEST_CASE(a_session_ends_at_most_one_interval_early, SessionFixture) {
  auto s = keeper.create();
  BOOST_TEST_REQUIRE(s.ok());
  clock.advance(std::chrono::seconds(59));
  BOOST_TEST(resumes(*s));  // not recorded
  // The idle timeout counts from the recorded activity: 15 min after creation, 14:01 after the last
  // request, the session is over — within one refresh interval of the exact timeout.
  clock.advance(idle - std::chrono::seconds(59));
  BOOST_TEST(!resumes(*s));
}

BOOST_AUTO_TEST_SUITE_END()
