// HTML bodies through the allowlist: scripts, handlers, styles that fetch, forms, frames and
// remote images go; formatting, tables, safe links and data:/cid: images stay.
#include <boost/test/unit_test.hpp>

#include "gateway/portal/html_sanitizer.hpp"

using namespace sinetti::portal;

namespace {

std::string clean(std::string_view html) {
  auto s = sanitize_html(html, [](std::string_view cid) -> std::optional<std::string> {
    if (cid == "logo@x") return std::string("data:image/png;base64,AAAA");
    return std::nullopt;
  });
  BOOST_REQUIRE(s.has_value());
  return s->body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(portal_html_sanitizer)

BOOST_AUTO_TEST_CASE(scripts_and_handlers_are_removed) {
  BOOST_TEST(clean("<p onclick=\"x()\">Hei<script>alert(1)</script></p>") == "<p>Hei</p>");
  BOOST_TEST(clean("<img src=x onerror=alert(1)>") == "<img>");
  BOOST_TEST(clean("<a href=\"javascript:alert(1)\">x</a>") == "<a>x</a>");
  BOOST_TEST(clean("<a href=\" JaVaScRiPt:alert(1)\">x</a>") == "<a>x</a>");
  BOOST_TEST(clean("<svg><script>alert(1)</script></svg>ok") == "ok");
  BOOST_TEST(clean("<math><mi>x</mi></math>ok") == "ok");
  BOOST_TEST(clean("<iframe src=\"https://evil.example\"></iframe><object data=x></object>ok") == "ok");
  BOOST_TEST(clean("<form action=\"https://evil.example\"><input name=pin><button>Go</button></form>") == "");
  BOOST_TEST(clean("<style>body{background:url(https://t.example/x)}</style>ok") == "ok");
  BOOST_TEST(clean("<meta http-equiv=refresh content=\"0;url=https://evil.example\">ok") == "ok");
  BOOST_TEST(clean("<!-- <script>x</script> -->ok") == "ok");
  const auto tricky = clean("<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>");
  BOOST_TEST(tricky.find("<img") == std::string::npos);  // at most escaped text in an attribute
}

BOOST_AUTO_TEST_CASE(formatting_tables_and_safe_links_stay) {
  BOOST_TEST(clean("<p>Hei <b>asiakas</b>,<br>katso <a href=\"https://example.fi/a?b=1&amp;c=2\">ohje</a></p>") ==
             "<p>Hei <b>asiakas</b>,<br>katso <a href=\"https://example.fi/a?b=1&amp;c=2\" target=\"_blank\" "
             "rel=\"noopener noreferrer nofollow\">ohje</a></p>");
  BOOST_TEST(clean("<table border=1><tr><td colspan=2 style=\"color:red\">x</td></tr></table>") ==
             "<table border=\"1\"><tbody><tr><td colspan=\"2\" style=\"color:red\">x</td></tr></tbody></table>");
  BOOST_TEST(clean("<a href=\"mailto:a@b.fi\">a</a>").find("href=\"mailto:a@b.fi\"") != std::string::npos);
  BOOST_TEST(clean("<custom-tag><o:p>text</o:p></custom-tag>") == "text");
  BOOST_TEST(clean("<p id=x class=y data-x=1 lang=fi>t</p>") == "<p lang=\"fi\">t</p>");
  BOOST_TEST(clean("1 < 2 & 3 > \"2\"") == "1 &lt; 2 &amp; 3 &gt; &quot;2&quot;");
}

BOOST_AUTO_TEST_CASE(styles_that_could_fetch_are_dropped) {
  BOOST_TEST(clean("<p style=\"background:url(https://t.example/p.gif)\">x</p>") == "<p>x</p>");
  BOOST_TEST(clean("<p style=\"background:u\\72l(https://t.example)\">x</p>") == "<p>x</p>");
  BOOST_TEST(clean("<p style=\"width:expression(alert(1))\">x</p>") == "<p>x</p>");
  BOOST_TEST(clean("<p style=\"font-weight:bold\">x</p>") == "<p style=\"font-weight:bold\">x</p>");
}

BOOST_AUTO_TEST_CASE(images_are_inline_only) {
  auto s = sanitize_html("<img src=\"cid:logo@x\" alt=Logo><img src=\"https://t.example/pixel.gif\">"
                         "<img src=\"data:image/png;base64,BBBB\"><img src=\"data:text/html;base64,PHNjcmlwdD4=\">",
                         [](std::string_view cid) -> std::optional<std::string> {
                           if (cid == "logo@x") return std::string("data:image/png;base64,AAAA");
                           return std::nullopt;
                         });
  BOOST_TEST_REQUIRE(s.has_value());
  BOOST_TEST(s->body == "<img src=\"data:image/png;base64,AAAA\" alt=\"Logo\"><img><img src=\"data:image/png;base64,BBBB\"><img>");
  BOOST_TEST(s->remote_images_blocked);
  BOOST_TEST(s->used_cids.contains("logo@x"));
  BOOST_TEST(clean("<img src=\"cid:%3Clogo@x%3E\">") == "<img src=\"data:image/png;base64,AAAA\">");
}

BOOST_AUTO_TEST_CASE(deep_or_huge_html_is_bounded) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<div>";
  deep += "bottom";
  const auto body = clean(deep);
  BOOST_TEST(body.find("bottom") != std::string::npos);
  BOOST_TEST(static_cast<std::size_t>(std::count(body.begin(), body.end(), '<')) <= 2 * max_html_depth + 2);
  std::string many;
  for (std::size_t i = 0; i <= max_html_tags; ++i) many += "<b>";
  BOOST_TEST(!sanitize_html(many, [](std::string_view) { return std::optional<std::string>(); }).has_value());
}

BOOST_AUTO_TEST_CASE(the_frame_document_has_its_own_policy) {
  SanitizedHtml h;
  h.body = "<p>x</p>";
  const auto doc = frame_document(h, "fi");
  BOOST_TEST(doc.find("<html lang=\"fi\">") != std::string::npos);
  BOOST_TEST(doc.find("content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"") != std::string::npos);
  BOOST_TEST(doc.find("<p>x</p>") != std::string::npos);
  BOOST_TEST(std::string(framed_page_csp).find("script") == std::string::npos);
  BOOST_TEST(std::string(framed_page_csp).find("frame-ancestors 'none'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
