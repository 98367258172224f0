// Content-ID of a part (RFC 2392), which cid: references in HTML bodies name: without brackets,
// printable ASCII only, capped.
#include <boost/test/unit_test.hpp>

#include <string>

#include "smtp/mime/message.hpp"

using namespace sinetti::mime;

BOOST_AUTO_TEST_CASE(parts_carry_their_content_id) {
  const std::string raw =
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n"
      "--r\r\nContent-Type: text/html\r\n\r\n<img src=\"cid:logo@example.fi\">\r\n"
      "--r\r\nContent-Type: image/png\r\nContent-ID: <logo@example.fi>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "iVBORw0KGgo=\r\n"
      "--r\r\nContent-Type: image/gif\r\nContent-ID: <" + std::string(400, 'a') + "@x>\r\n\r\nGIF\r\n--r--\r\n";
  auto m = read_message(raw);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST_REQUIRE(m->parts.size() == 3u);
  BOOST_TEST(m->parts[0].content_id == "");
  BOOST_TEST(m->parts[1].content_id == "logo@example.fi");
  BOOST_TEST(m->parts[2].content_id.size() <= 256u);
}
