// Routing section of the schema: marks, detectors, and the ordered rules with their `when` condition
// trees (all / any / not over leaf conditions) and actions.
#include <yaml-cpp/yaml.h>

#include "config/schema.hpp"

namespace sinetti::config::detail {
namespace {

struct ConditionDoc {
  const char* key;
  const char* form;
  const char* doc;
};

// The parser accepts exactly these keys; the reference is printed from the same table.
constexpr ConditionDoc condition_table[] = {
    {"all", "[COND, ...]", "Every condition in the list holds. Several keys in one mapping mean the same."},
    {"any", "[COND, ...]", "At least one condition in the list holds."},
    {"not", "COND", "The condition does not hold."},
    {"listener", "NAME or [NAME, ...]", "The message arrived on one of these listeners."},
    {"role", "inbound | submission or a list", "The message arrived on a listener with one of these roles."},
    {"sender", "PATTERN or [PATTERN, ...]",
     "Envelope sender matches: `user@example.fi` exact, `example.fi` or `@example.fi` domain, `*@*.example.fi` glob, "
     "or `{address: A}`, `{domain: D}`, `{glob: G}`. Case-insensitive."},
    {"recipient", "PATTERN or [PATTERN, ...]",
     "The envelope recipient being routed matches (as sender, after removing a protection suffix); "
     "`{team: ID}` or `{team: any}` matches a team's public address."},
    {"marked", "true | false", "The message (or this recipient's address) carries a protection mark, or none."},
    {"header", "{name: N, exists: B, value: GLOB, regex: RE}",
     "A header is present (or absent with exists: false), optionally with a value matching a glob or a PCRE2 regex."},
    {"size", "{over: SIZE, under: SIZE}", "The message size is over and/or under the given sizes."},
    {"attachment", "{type: GLOB(s), name: GLOB(s), over: SIZE}",
     "Some attachment matches every given property (content type, file name, decoded size)."},
    {"detector", "NAME or [NAME, ...]",
     "A content detector finds something in the decoded text or a text-like attachment: `finnish_identity_code`, "
     "`iban`, or one from routing.detectors."},
};

const std::set<std::string, std::less<>> condition_keys = [] {
  std::set<std::string, std::less<>> keys;
  for (const auto& c : condition_table) keys.insert(c.key);
  return keys;
}();

// A string or a list of strings.
std::vector<std::string> names_of(Context& ctx, const YAML::Node& node, const std::string& field) {
  std::vector<std::string> out;
  if (node.IsSequence()) {
    if (node.size() == 0) ctx.error(node.Mark(), field + ": empty list");
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (auto s = scalar_of(ctx, node[i], field + "[" + std::to_string(i) + "]", "a string")) out.push_back(*s);
    }
  } else if (auto s = scalar_of(ctx, node, field, "a string or a list of strings")) {
    out.push_back(*s);
  }
  return out;
}

bool is_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::optional<AddressPattern> address_pattern(Context& ctx, const YAML::Node& node, const std::string& field,
                                              bool allow_team) {
  if (node.IsMap()) {
    if (node.size() != 1) {
      ctx.error(node.Mark(), field + ": give one of address, domain, glob" + std::string(allow_team ? ", team" : ""));
      return std::nullopt;
    }
    const auto kv = *node.begin();
    const std::string key = kv.first.as<std::string>("");
    auto value = scalar_of(ctx, kv.second, field + "." + key, "a string");
    if (!value) return std::nullopt;
    if (value->empty()) {
      ctx.error(kv.second.Mark(), field + "." + key + ": must not be empty");
      return std::nullopt;
    }
    if (key == "address") return AddressPattern{AddressPattern::Kind::exact, *value};
    if (key == "domain") return AddressPattern{AddressPattern::Kind::domain, value->starts_with("@") ? value->substr(1) : *value};
    if (key == "glob") return AddressPattern{AddressPattern::Kind::glob, *value};
    if (key == "team" && allow_team) return AddressPattern{AddressPattern::Kind::team, *value};
    std::set<std::string, std::less<>> keys = {"address", "domain", "glob"};
    if (allow_team) keys.insert("team");
    ctx.error(kv.first.Mark(), "unknown key '" + field + "." + key + "'" + did_you_mean(key, keys));
    return std::nullopt;
  }
  auto value = scalar_of(ctx, node, field, "an address pattern");
  if (!value) return std::nullopt;
  if (value->empty()) {
    ctx.error(node.Mark(), field + ": must not be empty");
    return std::nullopt;
  }
  if (is_glob(*value)) return AddressPattern{AddressPattern::Kind::glob, *value};
  if (value->starts_with("@")) return AddressPattern{AddressPattern::Kind::domain, value->substr(1)};
  if (value->find('@') == std::string::npos) return AddressPattern{AddressPattern::Kind::domain, *value};
  return AddressPattern{AddressPattern::Kind::exact, *value};
}

std::vector<AddressPattern> address_patterns(Context& ctx, const YAML::Node& node, const std::string& field,
                                             bool allow_team) {
  std::vector<AddressPattern> out;
  if (node.IsSequence()) {
    if (node.size() == 0) ctx.error(node.Mark(), field + ": empty list");
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (auto p = address_pattern(ctx, node[i], field + "[" + std::to_string(i) + "]", allow_team)) out.push_back(*p);
    }
  } else if (auto p = address_pattern(ctx, node, field, allow_team)) {
    out.push_back(*p);
  }
  return out;
}

Condition parse_condition(Context& ctx, const YAML::Node& node, const std::string& field);

Condition parse_leaf(Context& ctx, const std::string& key, const YAML::Node& value, const std::string& field) {
  Condition c;
  c.where = ctx.at(value.Mark());
  const std::string f = field + "." + key;
  if (key == "all" || key == "any") {
    c.kind = key == "all" ? Condition::Kind::all : Condition::Kind::any;
    if (!value.IsSequence() || value.size() == 0) {
      ctx.error(value.Mark(), f + ": expected a non-empty list of conditions");
      return c;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      c.children.push_back(parse_condition(ctx, value[i], f + "[" + std::to_string(i) + "]"));
    }
  } else if (key == "not") {
    c.kind = Condition::Kind::not_;
    c.children.push_back(parse_condition(ctx, value, f));
  } else if (key == "listener") {
    c.kind = Condition::Kind::listener;
    c.names = names_of(ctx, value, f);
  } else if (key == "role") {
    c.kind = Condition::Kind::role;
    for (const auto& r : names_of(ctx, value, f)) {
      if (r == "inbound") c.roles.push_back(ListenerRole::inbound);
      else if (r == "submission") c.roles.push_back(ListenerRole::submission);
      else ctx.error(value.Mark(), f + ": '" + r + "' is not one of: inbound | submission");
    }
  } else if (key == "sender") {
    c.kind = Condition::Kind::sender;
    c.addresses = address_patterns(ctx, value, f, false);
  } else if (key == "recipient") {
    c.kind = Condition::Kind::recipient;
    c.addresses = address_patterns(ctx, value, f, true);
  } else if (key == "marked") {
    c.kind = Condition::Kind::marked;
    auto s = scalar_of(ctx, value, f, "true or false");
    if (s && (*s == "true" || *s == "false")) c.flag = *s == "true";
    else if (s) ctx.error(value.Mark(), f + ": expected true or false, found '" + *s + "'");
  } else if (key == "header") {
    c.kind = Condition::Kind::header;
    MapReader r(ctx, value, f, value.Mark());
    std::string name;
    r.string("name", name, "", {"", true});
    c.names = {name};
    r.boolean("exists", c.flag, true, {});
    std::string glob;
    r.string("value", glob, "", {});
    if (r.has("value")) c.glob = glob;
    std::string regex;
    r.string("regex", regex, "", {});
    if (r.has("regex")) c.regex = regex;
    if (c.glob && c.regex) ctx.error(value.Mark(), f + ": give value or regex, not both");
    if (!c.flag && (c.glob || c.regex)) ctx.error(value.Mark(), f + ": exists: false cannot take value or regex");
  } else if (key == "size") {
    c.kind = Condition::Kind::size;
    MapReader r(ctx, value, f, value.Mark());
    r.optional_size("over", c.larger_than, {});
    r.optional_size("under", c.smaller_than, {});
    if (value.IsMap() && !c.larger_than && !c.smaller_than && !r.has("over") && !r.has("under")) {
      ctx.error(value.Mark(), f + ": give over, under or both");
    }
  } else if (key == "attachment") {
    c.kind = Condition::Kind::attachment;
    MapReader r(ctx, value, f, value.Mark());
    if (auto t = r.raw("type", "", {})) c.type_globs = names_of(ctx, *t, f + ".type");
    if (auto n = r.raw("name", "", {})) c.name_globs = names_of(ctx, *n, f + ".name");
    r.optional_size("over", c.larger_than, {});
  } else if (key == "detector") {
    c.kind = Condition::Kind::detector;
    c.names = names_of(ctx, value, f);
  }
  return c;
}

Condition parse_condition(Context& ctx, const YAML::Node& node, const std::string& field) {
  Condition out;
  out.where = ctx.at(node.Mark());
  if (!node.IsMap()) {
    ctx.error(node.Mark(), field + ": expected a mapping of conditions");
    return out;
  }
  std::vector<Condition> parts;
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    if (!condition_keys.contains(key)) {
      ctx.error(kv.first.Mark(), "unknown condition '" + field + "." + key + "'" + did_you_mean(key, condition_keys));
      continue;
    }
    if (!seen.insert(key).second) {
      ctx.error(kv.first.Mark(), "duplicate condition '" + field + "." + key + "' (combine them with all:)");
      continue;
    }
    parts.push_back(parse_leaf(ctx, key, kv.second, field));
  }
  if (parts.empty()) return out;  // always
  if (parts.size() == 1) return std::move(parts.front());
  out.kind = Condition::Kind::all;
  out.children = std::move(parts);
  return out;
}

void read_action(MapReader& r, Action& a) {
  int present = 0;
  r.object("protect", {"Seal the message and notify the recipient with a read link."}, [&](MapReader& p) {
    ++present;
    a.kind = Action::Kind::protect;
    std::string level;
    p.string("level", level, "from_marks", {"letter | sms | personal | from_marks (the marks decide; letter if none)."});
    if (p.describing()) return;
    if (level == "letter") a.level = ProtectionLevel::letter;
    else if (level == "sms") a.level = ProtectionLevel::sms;
    else if (level == "personal") a.level = ProtectionLevel::personal;
    else if (level == "from_marks") a.level.reset();
    else {
      p.context().error(p.location("level"), p.path() + ".level: '" + level + "' is not one of: letter | sms | personal | from_marks" +
                                                 did_you_mean(level, {"letter", "sms", "personal", "from_marks"}));
    }
  });
  r.object("forward", {"Forward unchanged to a team's mailbox."}, [&](MapReader& f) {
    ++present;
    a.kind = Action::Kind::forward;
    f.string("team", a.team, "", {"Team id, or from_recipient (the team whose address the mail was sent to).", true});
  });
  r.object("reject", {"Refuse with an SMTP reply."}, [&](MapReader& j) {
    ++present;
    a.kind = Action::Kind::reject;
    std::uint32_t code = 550;
    j.uint("code", code, 550, 400, 599, {"Reply code: 5xx permanent, 4xx temporary."});
    a.code = static_cast<int>(code);
    j.string("text", a.text, "5.7.1 Message refused", {"Reply text, starting with an enhanced status code."});
  });
  if (!r.describing() && present != 1) {
    r.context().error(r.location("protect"), r.path() + ": give exactly one of protect, forward, reject");
  }
}

}  // namespace

std::string conditions_markdown() {
  std::string out = "Conditions in `routing.rules[].when`:\n\n| condition | form | meaning |\n|---|---|---|\n";
  for (const auto& c : condition_table) {
    std::string form;
    for (const char* p = c.form; *p; ++p) form += *p == '|' ? std::string("\\|") : std::string(1, *p);
    out += std::string("| `") + c.key + "` | " + form + " | " + c.doc + " |\n";
  }
  return out;
}

void read_routing(MapReader& r, Routing& routing) {
  routing.marks = Marks{true, {"[secure]", "[suojattu]", "[skyddad]"}, true};
  r.object("marks", {"How staff mark mail as protected."}, [&](MapReader& m) {
    m.boolean("address_suffix", routing.marks.address_suffix, true,
              {"recipient@domain.tld.s and recipient@domain.tld.PHONE.s (suffix removed before delivery)."});
    m.string_list("subject_tags", routing.marks.subject_tags, {"[secure]", "[suojattu]", "[skyddad]"},
                  {"Subject tags (case-insensitive; removed from the stored subject)."});
    m.boolean("headers", routing.marks.headers, true, {"X-Sinetti-Protect, X-Sinetti-Sms, X-Sinetti-Identity, X-Sinetti-Language."});
  });
  routing.detectors.clear();
  r.sequence("detectors", {"Content detectors besides the built-in finnish_identity_code and iban."}, "detector",
             [&](const YAML::Node& n, const std::string& path) {
               MapReader d(r.context(), n, path, n.Mark());
               auto& def = routing.detectors.emplace_back();
               def.where = r.context().at(n.Mark());
               d.string("name", def.name, "", {"Name used in `detector:` conditions.", true});
               d.string_list("keywords", def.keywords, {}, {"Whole words to look for."});
               std::string regex;
               d.string("regex", regex, "", {"A PCRE2 regular expression."});
               if (d.has("regex")) def.regex = regex;
               d.boolean("case_sensitive", def.case_sensitive, false, {"Match case exactly."});
               if (d.describing()) return;
               if (def.keywords.empty() == !def.regex.has_value()) {
                 r.context().error(def.where, path + ": give exactly one of keywords and regex");
               }
             });
  routing.rules.clear();
  r.sequence("rules", {"Ordered rules; the first whose `when` matches decides. The last must match everything.", true},
             "rule", [&](const YAML::Node& n, const std::string& path) {
               MapReader rule_reader(r.context(), n, path, n.Mark());
               auto& rule = routing.rules.emplace_back();
               rule.where = r.context().at(n.Mark());
               rule_reader.string("name", rule.name, "", {"Unique name, shown by `route explain` and in logs.", true});
               if (auto when = rule_reader.raw("when", "condition", {"Conditions (all must hold): all, any, not, listener, role, sender, recipient, marked, header, size, attachment, detector. Empty: always."})) {
                 rule.when = parse_condition(r.context(), *when, path + ".when");
               } else {
                 rule.when.where = rule.where;
               }
               rule_reader.object("action", {"protect, forward or reject.", true}, [&](MapReader& a) { read_action(a, rule.action); });
             });
}

}  // namespace sinetti::config::detail
