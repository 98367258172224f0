// The render program against kainjow/mustache, the reading of a template it must reproduce: every
// built-in template and a set of edge-case templates, rendered both ways over many value sets
// (strings with HTML's special characters, empty strings, true, false, lists of 0–2 items whose
// items leave some names to the enclosing values), must give the same bytes. Templates kainjow
// refuses are refused; partial tags are refused although kainjow would render a value as a template.
#include <boost/test/unit_test.hpp>

#include <kainjow/mustache.hpp>

#include <random>
#include <regex>
#include <set>

#include "gateway/i18n/builtin_templates.hpp"
#include "gateway/i18n/template_engine.hpp"

using namespace sinetti::i18n;
using sinetti::i18n::detail::TemplateProgram;

namespace {

kainjow::mustache::data to_kainjow(const TemplateMap& values);

kainjow::mustache::data to_kainjow(const TemplateValue& v) {
  using kainjow::mustache::data;
  if (const auto* s = std::get_if<std::string>(&v.value)) return s->empty() ? data(data::type::bool_false) : data(*s);
  if (const auto* b = std::get_if<bool>(&v.value)) return data(*b ? data::type::bool_true : data::type::bool_false);
  data list{data::type::list};
  for (const auto& item : std::get<std::vector<TemplateMap>>(v.value)) list.push_back(to_kainjow(item));
  return list;
}

// What the gateway gave kainjow before the render program: an empty string counts as absent.
kainjow::mustache::data to_kainjow(const TemplateMap& values) {
  kainjow::mustache::data d;
  for (const auto& [key, value] : values) d[key] = to_kainjow(value);
  return d;
}

std::string kainjow_render(const std::string& prepared, const TemplateMap& values, bool html) {
  kainjow::mustache::mustache m(prepared);
  BOOST_REQUIRE_MESSAGE(m.is_valid(), m.error_message());
  m.set_custom_escape([html](const std::string& s) {
    if (!html) return s;
    std::string out;
    detail::append_html_escaped(out, s);
    return out;
  });
  std::string out;
  m.render(to_kainjow(values), [&out](const std::string& piece) { out.append(piece); });
  BOOST_REQUIRE_MESSAGE(m.is_valid(), m.error_message());
  return out;
}

std::string program_render(const std::string& prepared, const TemplateMap& values, bool html) {
  auto program = TemplateProgram::parse(prepared);
  const bool parsed = static_cast<bool>(program);
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? std::string() : program.error().message));
  std::string out = "kept:";  // a render appends
  program->render(values, html, out);
  BOOST_REQUIRE(out.starts_with("kept:"));
  return out.substr(5);
}

// The names a template's tags use (sections, variables), dotted names also by their parts.
std::vector<std::string> tag_names(const std::string& text) {
  static const std::regex tag(R"(\{\{\{?\s*[#^&/]?\s*([^}\s]+))");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), tag); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    names.insert(name);
    std::size_t start = 0;
    for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
      if (dot > start) names.insert(name.substr(start, dot - start));
      start = dot + 1;
    }
    if (start > 0 && start < name.size()) names.insert(name.substr(start));
  }
  return {names.begin(), names.end()};
}

TemplateMap random_values(const std::vector<std::string>& names, std::mt19937& rng, int depth) {
  TemplateMap m;
  for (const auto& name : names) {
    switch (rng() % (depth == 0 ? 8 : 7)) {
      case 0: break;  // absent
      case 1: m.insert_or_assign(name, std::string("<a href=\"x\">O'Neil & Söderström</a>")); break;
      case 2: m.insert_or_assign(name, std::string()); break;
      case 3: m.insert_or_assign(name, true); break;
      case 4: m.insert_or_assign(name, false); break;
      case 5: m.insert_or_assign(name, std::string(" \t")); break;  // blank, yet a value
      case 6: m.insert_or_assign(name, std::string("line one\nline two")); break;
      default: {
        std::vector<TemplateMap> items;
        const auto count = rng() % 3;
        for (unsigned i = 0; i < count; ++i) items.push_back(random_values(names, rng, depth + 1));
        m.insert_or_assign(name, std::move(items));
      }
    }
  }
  return m;
}

void check_alike(const std::string& label, const std::string& text, bool html, int random_sets) {
  const std::string prepared = detail::strip_standalone_lines(text);
  const auto names = tag_names(prepared);
  std::vector<TemplateMap> sets;
  sets.emplace_back();
  TemplateMap strings, truths, falsehoods;
  for (const auto& n : names) {
    strings.insert_or_assign(n, "<" + n + "&'\">");
    truths.insert_or_assign(n, true);
    falsehoods.insert_or_assign(n, false);
  }
  sets.push_back(strings);
  sets.push_back(truths);
  sets.push_back(falsehoods);
  std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(label)));
  for (int i = 0; i < random_sets; ++i) sets.push_back(random_values(names, rng, 0));
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const auto expected = kainjow_render(prepared, sets[i], html);
    const auto got = program_render(prepared, sets[i], html);
    BOOST_TEST_INFO(label << ", value set " << i);
    BOOST_CHECK_EQUAL(got, expected);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(i18n_template_engine)

BOOST_AUTO_TEST_CASE(every_built_in_template_renders_as_kainjow_renders_it) {
  std::size_t checked = 0;
  for (const auto& b : detail::builtin_templates()) {
    check_alike(std::string(b.file), std::string(b.text), b.file.ends_with(".html"), 60);
    ++checked;
  }
  BOOST_TEST(checked >= 40u);  // the three languages of every page and mail
}

BOOST_AUTO_TEST_CASE(edge_cases_render_as_kainjow_renders_them) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"crlf and bare cr", "a {{x}}\r\n{{#s}}\r\n  {{y}}\r\n{{/s}}\r\nb\rc{{#s}} {{/s}}\r"},
      {"blank lines beside sections", "\n\n{{#s}}\n\n{{/s}}\n  \n\t{{^s}}\t{{/s}}\t\nend"},
      {"sections inline", "x{{#a}}[{{b}}]{{/a}}y{{^a}}({{c}}){{/a}}z\n{{#a}}{{#b}}{{c}}{{/b}}{{/a}}"},
      {"nested lists and parents", "{{#a}}<{{#b}}{{c}}|{{a}}|{{.}}{{/b}}>{{/a}}{{^a}}none{{/a}}"},
      {"implicit iterator and dotted names", "{{.}} {{a.b}} {{a.}} {{.a}} {{a..b}} {{#a}}{{.}}{{/a}} {{#a.b}}x{{/a.b}}"},
      {"raw and escaped", "{{x}} {{{x}}} {{& x}} {{ x }} {{{ y }}} {{&y}}"},
      {"comments across lines", "a{{! a comment\nover lines }}b\n{{!x}}\n  {{! standalone }}  \nc"},
      {"set delimiters", "{{=<% %>=}}<% x %> {{x}} <%#a%>in<%/a%><%={{ }}=%>{{x}}{{{x}}}"},
      {"delimiters with braces left", "{{=| |=}}|x| {{{x}}} |{x}| |={{ }}=| {{x}}"},
      {"empty and odd tags", "{{}} {{ }} {{#e}}{{/e}}{{^ e }}i{{/ e }} }} {x}} x}}"},
      {"tabs and spaces", "\t{{#a}}\t\n\t{{b}}\t\n\t{{/a}}\t\n  {{#a}}  {{/a}}  \n"},
      {"utf-8", "Hyvä {{nimi}} – {{#a}}ääkköset{{/a}}\n€{{b}}€"},
      {"triple at the end", "x{{{y}}}"},
      {"the current value as a section", "{{^.}}x{{/.}}{{#.}}y{{/.}}{{#a}}{{^.}}z{{/.}}{{#.}}w{{/.}}{{/a}}{{#a..}}v{{/a..}}"},
      {"section text ends the input", "{{#a}}\n{{/a}}"},
  };
  for (const auto& [label, text] : cases) {
    check_alike(label + " (html)", text, true, 200);
    check_alike(label + " (text)", text, false, 50);
  }
}

BOOST_AUTO_TEST_CASE(what_kainjow_refuses_is_refused_and_partials_too) {
  for (const std::string text : {"{{#a}}", "{{/a}}", "{{#a}}{{/b}}", "{{#a}}{{#b}}{{/a}}{{/b}}", "x {{y", "{{{y}}",
                                 "{{=<%>=}}", "{{= a b c =}}x", "{{#a}}{{=| |=}}|/a|{{/a}}"}) {
    kainjow::mustache::mustache m(text);
    const auto program = TemplateProgram::parse(text);
    BOOST_TEST_INFO(text);
    BOOST_CHECK_EQUAL(m.is_valid(), static_cast<bool>(program));
  }
  const auto partial = TemplateProgram::parse("Hello {{> subject}}");
  BOOST_REQUIRE(!partial);
  BOOST_TEST(partial.error().message.find("partial") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(html_escaping_covers_the_five_characters_and_leaves_the_rest) {
  std::string out = "<kept>";
  detail::append_html_escaped(out, "a&b<c>d\"e'f ä\n");
  BOOST_TEST(out == "<kept>a&amp;b&lt;c&gt;d&quot;e&#39;f ä\n");
}

BOOST_AUTO_TEST_SUITE_END()
