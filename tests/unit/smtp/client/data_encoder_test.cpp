// DATA encoding: CRLF normalisation and dot-stuffing of a message streamed in arbitrary pieces.
#include <boost/test/unit_test.hpp>

#include <string>

#include "smtp/client/data_encoder.hpp"

using sinetti::smtp::client::DataEncoder;

namespace {

std::string encode_whole(std::string_view message) {
  DataEncoder e;
  std::string out;
  e.encode(message, out);
  e.finish(out);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_client_data_encoder)

BOOST_AUTO_TEST_CASE(line_ends_and_dots) {
  BOOST_TEST(encode_whole("") == ".\r\n");
  BOOST_TEST(encode_whole("a") == "a\r\n.\r\n");
  BOOST_TEST(encode_whole("a\r\n") == "a\r\n.\r\n");
  BOOST_TEST(encode_whole("a\nb\n") == "a\r\nb\r\n.\r\n");
  BOOST_TEST(encode_whole("a\rb") == "a\r\nb\r\n.\r\n");          // a lone CR is a line end too
  BOOST_TEST(encode_whole("a\r\r\nb") == "a\r\n\r\nb\r\n.\r\n");
  BOOST_TEST(encode_whole(".") == "..\r\n.\r\n");
  BOOST_TEST(encode_whole(".\r\n") == "..\r\n.\r\n");              // never an early end of data
  BOOST_TEST(encode_whole("a\r\n.\r\nb") == "a\r\n..\r\nb\r\n.\r\n");
  BOOST_TEST(encode_whole("a\n.\nb") == "a\r\n..\r\nb\r\n.\r\n");  // smuggling with bare LF: defused
  BOOST_TEST(encode_whole("a.b\r\n..c") == "a.b\r\n...c\r\n.\r\n");
  BOOST_TEST(encode_whole("a\r") == "a\r\n.\r\n");
}

BOOST_AUTO_TEST_CASE(every_split_gives_the_same_bytes) {
  const std::string message = "Subject: x\r\n\r\n.one\n..two\r.three\r\n\r\n.\r\nend\r";
  const std::string expected = encode_whole(message);
  for (std::size_t a = 0; a <= message.size(); ++a) {
    for (std::size_t b = a; b <= message.size(); ++b) {
      DataEncoder e;
      std::string out;
      e.encode(std::string_view(message).substr(0, a), out);
      e.encode(std::string_view(message).substr(a, b - a), out);
      e.encode(std::string_view(message).substr(b), out);
      e.finish(out);
      BOOST_TEST(out == expected, "split at " << a << "," << b);
      BOOST_TEST(e.input_bytes() == message.size());
    }
  }
  DataEncoder e;
  std::string out;
  for (char c : message) e.encode(std::string_view(&c, 1), out);
  e.finish(out);
  BOOST_TEST(out == expected);
}

BOOST_AUTO_TEST_SUITE_END()
