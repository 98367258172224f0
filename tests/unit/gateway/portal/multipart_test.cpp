// multipart/form-data as browsers send it: fields, files with names and types, caps and errors.
#include <boost/test/unit_test.hpp>

#include "gateway/portal/multipart.hpp"

using namespace sinetti::portal;

BOOST_AUTO_TEST_SUITE(portal_multipart)

BOOST_AUTO_TEST_CASE(the_boundary_comes_from_the_content_type) {
  BOOST_TEST(*form_boundary("multipart/form-data; boundary=----WebKitFormBoundaryX") == "----WebKitFormBoundaryX");
  BOOST_TEST(*form_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"") == "a b");
  BOOST_TEST(!form_boundary("multipart/mixed; boundary=x").has_value());
  BOOST_TEST(!form_boundary("multipart/form-data").has_value());
  BOOST_TEST(!form_boundary("multipart/form-data; boundary=" + std::string(71, 'x')).has_value());
}

BOOST_AUTO_TEST_CASE(fields_and_files_are_split) {
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nline 1\r\nline 2\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"p\\\"a.pdf\"\r\n"
      "Content-Type: Application/PDF\r\n\r\n%PDF\r\n--XyZ not a delimiter\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n\r\n"
      "--XyZ--\r\n";
  auto parts = parse_multipart(body, "XyZ");
  BOOST_TEST_REQUIRE(parts.ok(), (parts.ok() ? "" : parts.error().message));
  BOOST_TEST_REQUIRE(parts->size() == 4u);
  BOOST_TEST((*parts)[0].name == "csrf");
  BOOST_TEST((*parts)[0].data == "tok");
  BOOST_TEST(!(*parts)[0].filename.has_value());
  BOOST_TEST((*parts)[1].data == "line 1\r\nline 2");
  BOOST_TEST(*(*parts)[2].filename == "p\"a.pdf");
  BOOST_TEST((*parts)[2].content_type == "application/pdf");
  BOOST_TEST((*parts)[2].data == "%PDF\r\n--XyZ not a delimiter");
  BOOST_TEST((*parts)[3].filename->empty());
  BOOST_TEST((*parts)[3].data.empty());
}

BOOST_AUTO_TEST_CASE(broken_bodies_are_errors) {
  BOOST_TEST(!parse_multipart("no delimiter at all", "XyZ").ok());
  BOOST_TEST(!parse_multipart("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nnever closed", "XyZ").ok());
  BOOST_TEST(!parse_multipart("--XyZ\r\n" + std::string(9000, 'h') + "\r\n\r\nx\r\n--XyZ--", "XyZ").ok());
  std::string many;
  for (int i = 0; i < 100; ++i) many += "--b\r\nContent-Disposition: form-data; name=f\r\n\r\nx\r\n";
  many += "--b--\r\n";
  BOOST_TEST(!parse_multipart(many, "b").ok());
}

BOOST_AUTO_TEST_SUITE_END()
