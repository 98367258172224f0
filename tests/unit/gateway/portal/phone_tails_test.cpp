// The landing page's in-memory phone tails: remembered per message for the bound key ring only,
// emptied when another ring is bound (or the bound one is gone), bounded.
#include <boost/test/unit_test.hpp>

#include "../store/store_fixture.hpp"
#include "crypto/key_ring.hpp"
#include "gateway/portal/phone_tails.hpp"

using namespace sinetti;
using namespace sinetti::portal;
using namespace store_test;

namespace {

struct RingFixture : Fixture {
  std::shared_ptr<const crypto::KeyRing> ring(const std::string& name) {
    const auto keys = dir.path() / name;
    BOOST_REQUIRE(crypto::KeyRing::init(keys, clock).ok());
    auto r = crypto::KeyRing::load(keys, crypto::Access::open);
    BOOST_REQUIRE(r.ok());
    return std::make_shared<const crypto::KeyRing>(std::move(*r));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(portal_phone_tails)

BOOST_FIXTURE_TEST_CASE(tails_belong_to_the_bound_ring, RingFixture) {
  PhoneTails tails;
  const auto first = ring("a");
  const auto second = ring("b");
  // Nothing bound: nothing kept.
  tails.remember(*first, "M1", "67");
  BOOST_TEST(!tails.find(*first, "M1"));
  BOOST_TEST(tails.size() == 0u);

  tails.bind(first);
  tails.remember(*first, "M1", "67");
  tails.remember(*first, "M2", "12");
  BOOST_TEST(tails.find(*first, "M1").value_or("") == "67");
  BOOST_TEST(tails.find(*first, "M2").value_or("") == "12");
  BOOST_TEST(!tails.find(*first, "M3"));
  tails.bind(first);  // the same ring again keeps them
  BOOST_TEST(tails.size() == 2u);
  // Another ring's request neither sees nor adds.
  BOOST_TEST(!tails.find(*second, "M1"));
  tails.remember(*second, "M3", "99");
  BOOST_TEST(tails.size() == 2u);

  // The ring replaced (SIGHUP): everything opened with the old one is forgotten.
  tails.bind(second);
  BOOST_TEST(tails.size() == 0u);
  BOOST_TEST(!tails.find(*second, "M1"));
  BOOST_TEST(!tails.find(*first, "M1"));
  tails.remember(*first, "M1", "67");  // a request still running on the old ring
  BOOST_TEST(tails.size() == 0u);
  tails.remember(*second, "M1", "67");
  BOOST_TEST(tails.find(*second, "M1").value_or("") == "67");
}

BOOST_FIXTURE_TEST_CASE(a_ring_that_is_gone_is_not_taken_for_a_new_one, RingFixture) {
  PhoneTails tails;
  auto first = ring("a");
  tails.bind(first);
  tails.remember(*first, "M1", "67");
  first.reset();  // the only reference: the ring is freed
  auto next = ring("b");  // may well live at the same address
  BOOST_TEST(!tails.find(*next, "M1"));
  tails.bind(next);
  BOOST_TEST(tails.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_cache_is_bounded, RingFixture) {
  PhoneTails tails(3);
  const auto r = ring("a");
  tails.bind(r);
  for (int i = 0; i < 3; ++i) tails.remember(*r, "M" + std::to_string(i), "1" + std::to_string(i));
  BOOST_TEST(tails.size() == 3u);
  tails.remember(*r, "M3", "13");  // full: starts afresh
  BOOST_TEST(tails.size() == 1u);
  BOOST_TEST(tails.find(*r, "M3").value_or("") == "13");
  BOOST_TEST(!tails.find(*r, "M0"));
}

BOOST_AUTO_TEST_SUITE_END()
