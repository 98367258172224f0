// FreshContent: what the ingest keeps in memory for a first delivery attempt — taken once, bounded
// by bytes and entries (oldest out first), never holding a message larger than its capacity.
#include <boost/test/unit_test.hpp>

#include <string>

#include "gateway/ingest/fresh_content.hpp"

using sinetti::ingest::FreshContent;
using sinetti::store::MessageKind;

namespace {

FreshContent::Entry entry(std::string content, MessageKind kind = MessageKind::spool) {
  FreshContent::Entry e;
  e.kind = kind;
  e.created = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  e.content = std::move(content);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ingest_fresh_content)

BOOST_AUTO_TEST_CASE(an_entry_is_taken_once_with_what_was_put) {
  FreshContent fresh(1024, 16);
  fresh.put("m1", entry("Subject: a\r\n\r\nbody\r\n", MessageKind::notification));
  BOOST_TEST(fresh.size() == 1u);
  BOOST_TEST(fresh.bytes() == 20u);
  auto e = fresh.take("m1");
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(e->content == "Subject: a\r\n\r\nbody\r\n");
  BOOST_TEST((e->kind == MessageKind::notification));
  BOOST_TEST((e->created == std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))));
  BOOST_TEST(!fresh.take("m1").has_value());  // a second attempt reads the store
  BOOST_TEST(!fresh.take("unknown").has_value());
  BOOST_TEST(fresh.size() == 0u);
  BOOST_TEST(fresh.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(the_oldest_go_first_when_bytes_run_out) {
  FreshContent fresh(100, 16);
  fresh.put("a", entry(std::string(40, 'a')));
  fresh.put("b", entry(std::string(40, 'b')));
  fresh.put("c", entry(std::string(40, 'c')));  // 120 > 100: a goes
  BOOST_TEST(!fresh.take("a").has_value());
  BOOST_TEST(fresh.bytes() == 80u);
  BOOST_TEST(fresh.take("b")->content == std::string(40, 'b'));
  BOOST_TEST(fresh.take("c")->content == std::string(40, 'c'));
}

BOOST_AUTO_TEST_CASE(the_oldest_go_first_when_entries_run_out) {
  FreshContent fresh(1 << 20, 2);
  fresh.put("a", entry("1"));
  fresh.put("b", entry("2"));
  fresh.put("c", entry("3"));
  BOOST_TEST(fresh.size() == 2u);
  BOOST_TEST(!fresh.take("a").has_value());
  BOOST_TEST(fresh.take("b").has_value());
  BOOST_TEST(fresh.take("c").has_value());
}

BOOST_AUTO_TEST_CASE(a_message_larger_than_the_capacity_is_not_kept) {
  FreshContent fresh(10, 16);
  fresh.put("small", entry("12345"));
  fresh.put("big", entry(std::string(11, 'x')));
  BOOST_TEST(!fresh.take("big").has_value());
  BOOST_TEST(fresh.take("small").has_value());  // and nothing was evicted for it
}

BOOST_AUTO_TEST_CASE(drop_and_replace) {
  FreshContent fresh(100, 16);
  fresh.put("a", entry("old"));
  fresh.put("a", entry("newer"));
  BOOST_TEST(fresh.size() == 1u);
  BOOST_TEST(fresh.bytes() == 5u);
  BOOST_TEST(fresh.take("a")->content == "newer");
  fresh.put("b", entry("x"));
  fresh.drop("b");
  BOOST_TEST(!fresh.take("b").has_value());
  BOOST_TEST(fresh.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(ids_taken_out_of_order_do_not_pile_up) {
  // One entry is never taken; thousands behind it are. The bookkeeping stays bounded and the
  // bytes count stays exact.
  FreshContent fresh(1 << 20, 8);
  fresh.put("stuck", entry("s"));
  for (int i = 0; i < 5000; ++i) {
    const std::string id = "m" + std::to_string(i);
    fresh.put(id, entry("abc"));
    BOOST_TEST_REQUIRE(fresh.take(id).has_value());
  }
  BOOST_TEST(fresh.size() == 1u);
  BOOST_TEST(fresh.bytes() == 1u);
  BOOST_TEST(fresh.take("stuck")->content == "s");
}

BOOST_AUTO_TEST_SUITE_END()
