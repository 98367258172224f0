// The portal's small parsers and fixed parts: forms, cookies, percent-escapes, the router, the
// security headers, language choice, sizes, linkified text, download types and file names.
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "gateway/portal/content.hpp"
#include "gateway/portal/http.hpp"
#include "gateway/portal/pages.hpp"
#include "gateway/portal/router.hpp"

using namespace sinetti;
using namespace sinetti::portal;

BOOST_AUTO_TEST_SUITE(portal_http)

BOOST_AUTO_TEST_CASE(forms_decode_escapes_and_keep_the_first_of_a_name) {
  const auto f = parse_form("csrf=a%2Bb&pin=12+34&pin=99&empty=&flag&bad=%zz%4");
  BOOST_TEST(f.at("csrf") == "a+b");
  BOOST_TEST(f.at("pin") == "12 34");
  BOOST_TEST(f.at("empty") == "");
  BOOST_TEST(f.at("flag") == "");
  BOOST_TEST(f.at("bad") == "%zz%4");
  std::string many;
  for (int i = 0; i < 200; ++i) many += "f" + std::to_string(i) + "=x&";
  BOOST_TEST(parse_form(many).size() == max_form_fields);
  BOOST_TEST(percent_encode("a b/ä") == "a%20b%2F%C3%A4");
}

BOOST_AUTO_TEST_CASE(cookies_are_split_trimmed_and_capped) {
  const auto c = parse_cookies(" __Host-sinetti=abc ; other=\"q\";__Host-sinetti=second; junk ; =x");
  BOOST_TEST(c.at("__Host-sinetti") == "abc");
  BOOST_TEST(c.at("other") == "q");
  BOOST_TEST(c.size() == 2u);
}

BOOST_AUTO_TEST_CASE(routes_follow_the_design_paths) {
  const std::string t(43, 'A');
  BOOST_TEST((route("GET", "/m/" + t).kind == RouteKind::landing));
  BOOST_TEST(route("GET", "/m/" + t).token == t);
  BOOST_TEST((route("POST", "/m/" + t + "/pin").kind == RouteKind::pin));
  BOOST_TEST((route("POST", "/m/" + t + "/unlock").kind == RouteKind::unlock));
  BOOST_TEST((route("GET", "/m/" + t + "/read").kind == RouteKind::read));
  BOOST_TEST((route("POST", "/m/" + t + "/reply").kind == RouteKind::reply));
  const auto a = route("GET", "/m/" + t + "/attachment/12");
  BOOST_TEST((a.kind == RouteKind::attachment));
  BOOST_TEST(*a.index == 12u);
  BOOST_TEST((route("GET", "/m/" + t + "/attachment/012").kind == RouteKind::not_found));
  BOOST_TEST((route("GET", "/m/" + t + "/attachment/-1").kind == RouteKind::not_found));
  BOOST_TEST((route("GET", "/m/" + t + "/attachment/").kind == RouteKind::not_found));
  BOOST_TEST((route("GET", "/m/bad%20token").kind == RouteKind::not_found));
  BOOST_TEST((route("GET", "/m/" + std::string(200, 'a')).kind == RouteKind::not_found));
  BOOST_TEST((route("GET", "/accessibility").kind == RouteKind::accessibility));
  BOOST_TEST((route("GET", "/static/portal.css").kind == RouteKind::stylesheet));
  BOOST_TEST((route("GET", "/static/../etc/passwd").kind == RouteKind::not_found));
  // A GET of a POST path is refused, never acted on.
  const auto g = route("GET", "/m/" + t + "/pin");
  BOOST_TEST(!g.method_allowed);
  BOOST_TEST(g.allow == "POST");
  BOOST_TEST(!route("POST", "/m/" + t).method_allowed);
  BOOST_TEST(route("HEAD", "/m/" + t).method_allowed);
  // Only what touches the store goes to the worker pool.
  BOOST_TEST(needs_store(route("GET", "/m/" + t)));
  BOOST_TEST(needs_store(route("POST", "/m/" + t + "/pin")));
  BOOST_TEST(needs_store(route("GET", "/m/" + t + "/attachment/0")));
  BOOST_TEST(!needs_store(route("GET", "/static/portal.css")));
  BOOST_TEST(!needs_store(route("GET", "/accessibility")));
  BOOST_TEST(!needs_store(route("GET", "/m/" + t + "/pin")));
  BOOST_TEST(!needs_store(route("GET", "/nothing")));
}

BOOST_AUTO_TEST_CASE(security_headers_are_added_without_overriding_a_chosen_policy) {
  Response r;
  add_security_headers(r);
  BOOST_TEST(r.header("Strict-Transport-Security")->starts_with("max-age="));
  BOOST_TEST(*r.header("Content-Security-Policy") == page_csp);
  BOOST_TEST(std::string(*r.header("Content-Security-Policy")).find("script") == std::string::npos);
  BOOST_TEST(std::string(*r.header("Content-Security-Policy")).find("frame-ancestors 'none'") != std::string::npos);
  BOOST_TEST(*r.header("X-Content-Type-Options") == "nosniff");
  BOOST_TEST(*r.header("Referrer-Policy") == "no-referrer");
  BOOST_TEST(*r.header("Cache-Control") == "no-store");
  Response css;
  css.set("Cache-Control", "public, max-age=60");
  css.set("Content-Security-Policy", "default-src 'none'; sandbox");
  add_security_headers(css);
  BOOST_TEST(*css.header("cache-control") == "public, max-age=60");
  BOOST_TEST(*css.header("Content-Security-Policy") == "default-src 'none'; sandbox");
}

BOOST_AUTO_TEST_CASE(language_comes_from_the_hint_then_accept_language_then_the_default) {
  auto loaded = config::load_string(R"(
instance: {name: Org, public_url: "https://gw.example.fi", data_dir: var, languages: [fi, sv, en], default_language: fi}
listeners: [{name: inbound, address: "127.0.0.1:0", role: inbound}]
portal: {address: "127.0.0.1:0", tls: {cert_file: c, key_file: k}}
delivery: {transport: "maildir:var/mail"}
keys: {dir: var/keys}
routing: {rules: [{name: rest, when: {}, action: {reject: {code: 550, text: "5.1.1 no"}}}]}
)", "t.yaml", {false});
  BOOST_TEST_REQUIRE(loaded.errors.empty(), (loaded.errors.empty() ? "" : loaded.errors.front().str()));
  const auto& c = *loaded.config;
  auto req = [](std::string target, std::string accept) {
    Request r;
    r.method = "GET";
    r.target = std::move(target);
    if (!accept.empty()) r.headers.emplace_back("accept-language", std::move(accept));
    return r;
  };
  BOOST_TEST((choose_language(req("/m/x?lang=sv", "en"), c) == config::Language::sv));
  BOOST_TEST((choose_language(req("/m/x?lang=de", "en-GB,en;q=0.8"), c) == config::Language::en));
  BOOST_TEST((choose_language(req("/m/x", "de-DE, sv;q=0.5, en;q=0.7"), c) == config::Language::en));
  BOOST_TEST((choose_language(req("/m/x", "sv-FI;q=0.9, fi;q=0.1"), c) == config::Language::sv));
  BOOST_TEST((choose_language(req("/m/x", "de, fr;q=0.9"), c) == config::Language::fi));
  BOOST_TEST((choose_language(req("/m/x", "en;q=0, sv;q=x"), c) == config::Language::fi));
  BOOST_TEST((choose_language(req("/m/x", ""), c) == config::Language::fi));
}

BOOST_AUTO_TEST_CASE(sizes_read_naturally) {
  BOOST_TEST(format_size(12, config::Language::en) == "12 bytes");
  BOOST_TEST(format_size(340'000, config::Language::en) == "340 kB");
  BOOST_TEST(format_size(1'234'567, config::Language::fi) == "1,2 MB");
}

BOOST_AUTO_TEST_CASE(text_is_escaped_and_only_web_links_become_links) {
  BOOST_TEST(linkify_text("<b>x</b> & \"y\"") == "&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;");
  BOOST_TEST(linkify_text("See https://example.fi/a?b=1&c=2.") ==
             "See <a href=\"https://example.fi/a?b=1&amp;c=2\" rel=\"noopener noreferrer nofollow\">"
             "https://example.fi/a?b=1&amp;c=2</a>.");
  BOOST_TEST(linkify_text("javascript:alert(1) http:// xhttp://a.fi") == "javascript:alert(1) http:// xhttp://a.fi");
  BOOST_TEST(linkify_text("(http://a.fi/x_(y))") ==
             "(<a href=\"http://a.fi/x_(y)\" rel=\"noopener noreferrer nofollow\">http://a.fi/x_(y)</a>)");
  const auto quoted = linkify_text("http://a.fi/\"onmouseover=\"x");
  BOOST_TEST(quoted.find("\"onmouseover") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(downloads_get_safe_types_and_unbreakable_names) {
  BOOST_TEST(safe_download_type("application/pdf", "") == "application/pdf");
  BOOST_TEST(safe_download_type("text/plain", "utf-8") == "text/plain; charset=utf-8");
  BOOST_TEST(safe_download_type("text/plain", "utf-8\r\nX: y") == "text/plain");
  BOOST_TEST(safe_download_type("text/html", "utf-8") == "application/octet-stream");
  BOOST_TEST(safe_download_type("image/svg+xml", "") == "application/octet-stream");
  BOOST_TEST(safe_download_type("application/x-msdownload", "") == "application/octet-stream");
  BOOST_TEST(content_disposition("päätös.pdf", "x") ==
             "attachment; filename=\"p____t__s.pdf\"; filename*=UTF-8''p%C3%A4%C3%A4t%C3%B6s.pdf");
  BOOST_TEST(content_disposition("../../etc/passwd", "x") == "attachment; filename=\"passwd\"; filename*=UTF-8''passwd");
  BOOST_TEST(content_disposition("a\"b\r\n.txt", "x").find('\r') == std::string::npos);
  BOOST_TEST(content_disposition("", "attachment-1") ==
             "attachment; filename=\"attachment-1\"; filename*=UTF-8''attachment-1");
}

BOOST_AUTO_TEST_CASE(response_heads_as_they_go_on_the_wire) {
  Response r;
  r.status = 303;
  r.set("Location", "/m/abc/read");
  r.add("Set-Cookie", "__Host-s=1; Secure");
  r.add("Set-Cookie", "__Host-d=2; Secure");
  auto keep = serialize_head(r, 11, true, 12);
  BOOST_REQUIRE(keep.ok());
  BOOST_TEST(*keep ==
             "HTTP/1.1 303 See Other\r\nLocation: /m/abc/read\r\nSet-Cookie: __Host-s=1; Secure\r\n"
             "Set-Cookie: __Host-d=2; Secure\r\nContent-Length: 12\r\n\r\n");
  auto close = serialize_head(r, 11, false, 0);
  BOOST_REQUIRE(close.ok());
  BOOST_TEST(close->ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
  Response plain;
  plain.status = 404;
  auto old_keep = serialize_head(plain, 10, true, 5);
  BOOST_REQUIRE(old_keep.ok());
  BOOST_TEST(*old_keep == "HTTP/1.0 404 Not Found\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n");
  auto old_close = serialize_head(plain, 10, false, 5);
  BOOST_REQUIRE(old_close.ok());
  BOOST_TEST(*old_close == "HTTP/1.0 404 Not Found\r\nContent-Length: 5\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(response_heads_that_would_split_are_refused) {
  for (const std::string& value : {std::string("a\r\nSet-Cookie: x=1"), std::string("a\nb"), std::string("a\rb"),
                                  std::string("a\0b", 3)}) {
    Response r;
    r.set("Location", value);
    BOOST_TEST(!serialize_head(r, 11, true, 0).ok());
  }
  for (const std::string_view name : {"", "Bad Name", "Bad:Name", "X\r\nY"}) {
    Response r;
    r.add(std::string(name), "v");
    BOOST_TEST(!serialize_head(r, 11, true, 0).ok(), name);
  }
  Response odd;
  odd.status = 42;
  BOOST_TEST(!serialize_head(odd, 11, true, 0).ok());
  odd.status = 299;  // no reason phrase of its own: still a valid status line
  BOOST_TEST(serialize_head(odd, 11, true, 0).ok());
}

BOOST_AUTO_TEST_SUITE_END()
