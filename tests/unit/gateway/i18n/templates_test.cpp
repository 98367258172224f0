// Notification templates: every built-in kind renders in fi, sv and en with only the sections its
// values ask for; an operator's directory overrides a template, and broken or misnamed templates are
// refused with the file's name.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/i18n/format.hpp"
#include "gateway/i18n/templates.hpp"

using namespace sinetti;
using namespace sinetti::i18n;
using config::Language;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sinetti-tpl-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

TemplateMap values(const char* level) {
  return TemplateMap{{"organisation", "Kaupungin työllisyyspalvelut"},
                     {"team", "Neuvonta"},
                     {"link", "https://turvaposti.example.fi/m/TOKEN"},
                     {"level_letter", std::string(level) == "letter"},
                     {"level_sms", std::string(level) == "sms"},
                     {"level_personal", std::string(level) == "personal"},
                     {"phone_tail", "67"},
                     {"expires", "31.12.2026"},
                     {"subject", ""},
                     {"sender", "asiakas@example.com"},
                     {"message_ref", "4F7Q2K9M1X"}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(i18n_templates)

BOOST_AUTO_TEST_CASE(built_in_notifications_render_in_every_language) {
  auto t = Templates::load(std::nullopt);
  BOOST_TEST_REQUIRE(t.ok(), (t.ok() ? "" : t.error().message));
  for (Language l : {Language::fi, Language::sv, Language::en}) {
    for (const char* kind : {"notification", "team-notification"}) {
      for (const char* level : {"letter", "sms", "personal"}) {
        auto m = (*t)->render_mail(kind, l, values(level));
        BOOST_TEST_CONTEXT(kind << "." << config::to_string(l) << " " << level) {
          BOOST_TEST_REQUIRE(m.ok(), (m.ok() ? "" : m.error().message));
          BOOST_TEST(!m->subject.empty());
          BOOST_TEST(m->body.find("{{") == std::string::npos);
          BOOST_TEST(m->body.find("https://turvaposti.example.fi/m/TOKEN") != std::string::npos);
          BOOST_TEST(m->body.find("31.12.2026") != std::string::npos);
          BOOST_TEST(m->body.find("4F7Q2K9M1X") != std::string::npos);
          BOOST_TEST(m->body.find("\n\n\n") == std::string::npos, "standalone section lines leave no gaps");
          if (std::string(kind) == "notification") {
            // The phone tail appears only when an SMS code is what unlocks the message.
            BOOST_TEST((m->body.find("67") != std::string::npos) == (std::string(level) == "sms"));
          }
        }
      }
    }
  }
  // Finnish text is Finnish, the subject is not shown unless given.
  auto fi = (*t)->render_mail("notification", Language::fi, values("sms"));
  BOOST_REQUIRE(fi.ok());
  BOOST_TEST(fi->body ==
             "Hei,\n\nKaupungin työllisyyspalvelut (Neuvonta) on lähettänyt sinulle suojatun viestin.\n\n"
             "Lue viesti tästä linkistä:\nhttps://turvaposti.example.fi/m/TOKEN\n\n"
             "Viestin avaamiseen tarvitset kertakäyttöisen tunnusluvun, jonka saat tekstiviestinä\n"
             "puhelinnumeroon, joka päättyy 67.\n\n"
             "Linkki on voimassa 31.12.2026 asti. Viestin sisältöä ei lähetetä sähköpostilla.\n"
             "Älä vastaa tähän sähköpostiin; voit vastata viestiin turvallisesti linkin kautta.\n\n"
             "Viestin tunnus: 4F7Q2K9M1X\n");
  BOOST_TEST(fi->body.find("Aihe:") == std::string::npos);
  auto with_subject = values("letter");
  with_subject.insert_or_assign("subject", "Päätös");
  auto shown = (*t)->render_mail("notification", Language::fi, with_subject);
  BOOST_REQUIRE(shown.ok());
  BOOST_TEST(shown->body.find("Aihe: Päätös") != std::string::npos);
  BOOST_TEST(shown->subject == "Suojattu viesti: Kaupungin työllisyyspalvelut");
}

BOOST_AUTO_TEST_CASE(values_cannot_add_header_lines) {
  auto t = Templates::load(std::nullopt);
  BOOST_REQUIRE(t.ok());
  auto v = values("letter");
  v.insert_or_assign("organisation", "Org\r\nBcc: someone@example.com");
  // The value's line break would start a second header line: refused, never passed on.
  auto m = (*t)->render_mail("notification", Language::en, v);
  BOOST_TEST_REQUIRE(!m.ok());
  BOOST_TEST(m.error().message.find("only a Subject: line") != std::string::npos);
  // A tab or a lone line break inside the subject value's line is flattened.
  v.insert_or_assign("organisation", "Org\tName");
  auto flat = (*t)->render_mail("notification", Language::en, v);
  BOOST_REQUIRE(flat.ok());
  BOOST_TEST(flat->subject == "Protected message: Org Name");
}

BOOST_AUTO_TEST_CASE(operator_directory_overrides_and_is_checked) {
  TempDir dir;
  dir.write("notification.en.txt", "Subject: Custom {{organisation}}\n\nOpen {{link}}\n");
  auto t = Templates::load(dir.path);
  BOOST_TEST_REQUIRE(t.ok(), (t.ok() ? "" : t.error().message));
  auto m = (*t)->render_mail("notification", Language::en, values("letter"));
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(m->subject == "Custom Kaupungin työllisyyspalvelut");
  BOOST_TEST(m->body == "Open https://turvaposti.example.fi/m/TOKEN\n");
  // Other languages keep the built-in text.
  auto fi = (*t)->render_mail("notification", Language::fi, values("letter"));
  BOOST_REQUIRE(fi.ok());
  BOOST_TEST(fi->subject.starts_with("Suojattu viesti"));
  bool overridden = false;
  for (const auto& [name, source] : (*t)->sources()) {
    if (name == "notification.en.txt") overridden = source == (dir.path / "notification.en.txt").string();
  }
  BOOST_TEST(overridden);

  TempDir broken;
  broken.write("notification.fi.txt", "Subject: x\n\n{{#level_sms}} never closed\n");
  auto b = Templates::load(broken.path);
  BOOST_TEST_REQUIRE(!b.ok());
  BOOST_TEST(b.error().message.find((broken.path / "notification.fi.txt").string()) != std::string::npos, b.error().message);

  // A partial would render a value (a subject, a team's name) as a template: refused, with the file.
  TempDir partial;
  partial.write("notification.sv.txt", "Subject: x\n\n{{> subject}}\n");
  auto pt = Templates::load(partial.path);
  BOOST_TEST_REQUIRE(!pt.ok());
  BOOST_TEST(pt.error().message.find((partial.path / "notification.sv.txt").string() + ": partial tags") != std::string::npos,
             pt.error().message);

  TempDir misnamed;
  misnamed.write("notifcation.fi.txt", "Subject: x\n\nbody\n");
  auto mn = Templates::load(misnamed.path);
  BOOST_TEST_REQUIRE(!mn.ok());
  BOOST_TEST(mn.error().message.find("no built-in template is called notifcation.fi.txt") != std::string::npos);

  TempDir no_subject;
  no_subject.write("notification.sv.txt", "Hej {{link}}\n");
  auto ns = Templates::load(no_subject.path);
  BOOST_REQUIRE(ns.ok());
  BOOST_TEST(!(*ns)->render_mail("notification", Language::sv, values("letter")).ok());

  auto missing = Templates::load(dir.path / "nope");
  BOOST_TEST(!missing.ok());
}

BOOST_AUTO_TEST_CASE(formats) {
  BOOST_TEST(phone_tail("+358401234567") == "67");
  BOOST_TEST(phone_tail("+35") == "");
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 12 / 31} + hours{12};
  BOOST_TEST(format_date(t, Language::fi) == "31.12.2026");
  BOOST_TEST(format_date(t, Language::sv) == "31.12.2026");
  BOOST_TEST(format_date(t, Language::en) == "31 December 2026");
}

BOOST_AUTO_TEST_CASE(page_templates_are_html_escaped_and_titled) {
  auto t = Templates::load(std::nullopt);
  BOOST_TEST_REQUIRE(t.ok(), (t.ok() ? "" : t.error().message));
  for (Language l : {Language::fi, Language::sv, Language::en}) {
    for (const char* kind : {"landing", "read", "not-found", "error", "accessibility"}) {
      auto p = (*t)->render_page(kind, l, {{"organisation", "Org"}, {"subject", "S"}, {"home", true}});
      BOOST_TEST_REQUIRE(p.ok(), kind << ": " << (p.ok() ? "" : p.error().message));
      BOOST_TEST(!p->title.empty(), kind);
      BOOST_TEST(p->body.find("<h1>") != std::string::npos, kind);
    }
  }
  auto read = (*t)->render_page("read", Language::en, {{"subject", "<b>\"x\" & 'y'</b>"}, {"body_html", "<p>kept</p>"}});
  BOOST_TEST_REQUIRE(read.ok());
  BOOST_TEST(read->title == "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
  BOOST_TEST(read->body.find("<h1>&lt;b&gt;") != std::string::npos);
  BOOST_TEST(read->body.find("<p>kept</p>") != std::string::npos);  // triple mustache: already HTML

  TempDir dir;
  dir.write("not-found.en.html", "Title: Gone\n\n<h1>Gone {{organisation}}</h1>\n");
  auto o = Templates::load(dir.path);
  BOOST_TEST_REQUIRE(o.ok(), (o.ok() ? "" : o.error().message));
  auto gone = (*o)->render_page("not-found", Language::en, {{"organisation", "<Org>"}});
  BOOST_TEST_REQUIRE(gone.ok());
  BOOST_TEST(gone->title == "Gone");
  BOOST_TEST(gone->body == "<h1>Gone &lt;Org&gt;</h1>\n");
  TempDir untitled;
  untitled.write("not-found.en.html", "<h1>Gone</h1>\n");
  auto u = Templates::load(untitled.path);
  BOOST_TEST_REQUIRE(u.ok());
  BOOST_TEST(!(*u)->render_page("not-found", Language::en, {}).ok());
}

BOOST_AUTO_TEST_CASE(parsed_templates_render_alike_again_and_on_many_threads) {
  auto t = Templates::load(std::nullopt);
  BOOST_TEST_REQUIRE(t.ok(), (t.ok() ? "" : t.error().message));
  const TemplateMap v = {{"organisation", "Org <&>"}, {"base", "/m/T"}, {"csrf", "c"}, {"level_sms", true},
                         {"phone_tail", "67"}, {"team", "Neuvonta"}};
  auto first = (*t)->render_page("landing", Language::fi, v);
  BOOST_TEST_REQUIRE(first.ok(), (first.ok() ? "" : first.error().message));
  BOOST_TEST(first->body.find("Org &lt;&amp;&gt;") != std::string::npos);
  // Mail and page templates keep their own escaping whichever renders first.
  auto mail = (*t)->render_mail("notification", Language::fi, values("sms"));
  BOOST_TEST_REQUIRE(mail.ok());
  BOOST_TEST(mail->body.find("Kaupungin työllisyyspalvelut") != std::string::npos);
  // Values differ per render: nothing of one render stays in the next.
  TemplateMap letter = v;
  letter.insert_or_assign("level_sms", false);
  letter.insert_or_assign("level_letter", true);
  auto other = (*t)->render_page("landing", Language::fi, letter);
  BOOST_TEST_REQUIRE(other.ok());
  BOOST_TEST(other->body != first->body);
  BOOST_TEST(other->body.find("67") == std::string::npos);

  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 200; ++n) {
        const bool sms = (n + i) % 2 == 0;
        auto p = (*t)->render_page("landing", Language::fi, sms ? v : letter);
        if (!p.ok() || p->body != (sms ? first->body : other->body) || p->title != first->title) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(mismatches.load() == 0);
}

BOOST_AUTO_TEST_CASE(loading_again_reads_a_changed_file_and_the_old_set_is_unchanged) {
  TempDir dir;
  dir.write("not-found.en.html", "Title: Gone\n\n<h1>First</h1>\n");
  auto before = Templates::load(dir.path);
  BOOST_TEST_REQUIRE(before.ok());
  BOOST_TEST((*before)->render_page("not-found", Language::en, {})->body == "<h1>First</h1>\n");
  dir.write("not-found.en.html", "Title: Gone\n\n<h1>Second</h1>\n");
  // The loaded set was parsed at load time: the file is not read again.
  BOOST_TEST((*before)->render_page("not-found", Language::en, {})->body == "<h1>First</h1>\n");
  auto after = Templates::load(dir.path);  // what a reload does
  BOOST_TEST_REQUIRE(after.ok());
  BOOST_TEST((*after)->render_page("not-found", Language::en, {})->body == "<h1>Second</h1>\n");
  BOOST_TEST((*before)->render_page("not-found", Language::en, {})->body == "<h1>First</h1>\n");
}

BOOST_AUTO_TEST_CASE(template_map_keeps_names_sorted_and_unique) {
  const auto text = [](const TemplateMap& m, std::string_view name) {
    const auto it = m.find(name);
    BOOST_REQUIRE_MESSAGE(it != m.end(), "no value " << name);
    return std::get<std::string>(it->second.value);
  };
  // Of duplicate names in a list the first counts, as in a std::map.
  TemplateMap m = {{"team", "Neuvonta"}, {"base", "/m/T"}, {"csrf", "c"}, {"team", "second"}, {"a", true}};
  BOOST_TEST(m.size() == 4U);
  std::vector<std::string> names;
  for (const auto& [name, value] : m) names.push_back(name);
  BOOST_TEST(names == (std::vector<std::string>{"a", "base", "csrf", "team"}), boost::test_tools::per_element());
  BOOST_TEST(text(m, "team") == "Neuvonta");
  BOOST_TEST(text(m, "base") == "/m/T");
  BOOST_TEST(std::get<bool>(m.find("a")->second.value));
  BOOST_TEST((m.find("tea") == m.end()));
  BOOST_TEST((m.find("teams") == m.end()));
  BOOST_TEST((m.find("") == m.end()));
  BOOST_TEST(!m.contains("zz"));

  // insert_or_assign replaces; emplace keeps what is there.
  m.insert_or_assign("team", "Palvelut");
  BOOST_TEST(text(m, "team") == "Palvelut");
  BOOST_TEST(!m.emplace("base", "/other"));
  BOOST_TEST(text(m, "base") == "/m/T");
  BOOST_TEST(m.emplace("zz", "last"));
  BOOST_TEST(m.emplace("0", "first"));
  m.insert_or_assign("b", "middle");
  BOOST_TEST(m.size() == 7U);
  names.clear();
  for (const auto& [name, value] : m) names.push_back(name);
  BOOST_TEST(names == (std::vector<std::string>{"0", "a", "b", "base", "csrf", "team", "zz"}), boost::test_tools::per_element());
  BOOST_TEST(text(m, "zz") == "last");
  BOOST_TEST(text(m, "0") == "first");
  BOOST_TEST(text(m, "b") == "middle");

  // A list of maps nests, and the empty map finds nothing.
  const TemplateMap outer = {{"items", std::vector<TemplateMap>{{{"name", "x"}}, {{"name", "y"}}}}};
  const auto& items = std::get<std::vector<TemplateMap>>(outer.find("items")->second.value);
  BOOST_TEST(items.size() == 2U);
  BOOST_TEST(text(items[1], "name") == "y");
  const TemplateMap none;
  BOOST_TEST(none.empty());
  BOOST_TEST((none.find("name") == none.end()));
}

BOOST_AUTO_TEST_SUITE_END()
