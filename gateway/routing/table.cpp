#include "gateway/routing/table.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "sms/http_sender.hpp"
#include "sms/phone.hpp"

namespace sinetti::routing {

using config::Action;
using config::AddressPattern;
using config::Condition;
using config::ProtectionLevel;

struct RoutingTable::Compiled {
  std::map<std::string, std::shared_ptr<const PatternDetector>, std::less<>> detectors;  // custom, by name
  std::map<const Condition*, std::shared_ptr<const PatternDetector>> header_regexes;
};

namespace {

constexpr std::size_t max_findings_per_detector = 20;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool glob_match(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), FNM_CASEFOLD) == 0;
}

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lower(address.substr(at + 1));
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string pattern_text(const AddressPattern& p) {
  switch (p.kind) {
    case AddressPattern::Kind::exact: return p.value;
    case AddressPattern::Kind::domain: return "@" + p.value;
    case AddressPattern::Kind::glob: return p.value;
    case AddressPattern::Kind::team: return "{team: " + p.value + "}";
  }
  return p.value;
}

void compile_conditions(const Condition& c, RoutingTable::Compiled& out, std::vector<config::Diagnostic>& errors) {
  for (const auto& child : c.children) compile_conditions(child, out, errors);
  if (c.kind == Condition::Kind::header && c.regex) {
    auto re = PatternDetector::regex(*c.regex, false);
    if (re) out.header_regexes.emplace(&c, *re);
    else errors.push_back(config::Diagnostic{c.where, "header regex: " + re.error().message});
  }
}

// One message being routed: caches detector results across recipients and rules.
class Evaluation {
 public:
  Evaluation(const RoutingTable::Compiled& compiled, const Envelope& envelope, const mime::Message& message,
             const MessageMarks& marks)
      : compiled_(compiled), envelope_(envelope), message_(message), marks_(marks) {}

  struct Recipient {
    RecipientMarks marks;
    const config::Team* team = nullptr;  // the team whose public address this is
  };

  bool eval(const Condition& c, const Recipient& r, std::string& why) {
    switch (c.kind) {
      case Condition::Kind::always:
        why = "always";
        return true;
      case Condition::Kind::all:
      case Condition::Kind::any: {
        const bool all = c.kind == Condition::Kind::all;
        bool result = all;
        std::vector<std::string> parts;
        for (const auto& child : c.children) {
          std::string w;
          const bool m = eval(child, r, w);
          parts.push_back(w);
          result = all ? (result && m) : (result || m);
        }
        why = (all ? "all(" : "any(") + join(parts, "; ") + ")";
        return result;
      }
      case Condition::Kind::not_: {
        std::string w;
        const bool m = !eval(c.children.at(0), r, w);
        why = "not(" + w + ")";
        return m;
      }
      case Condition::Kind::listener: {
        const bool m = std::find(c.names.begin(), c.names.end(), envelope_.listener) != c.names.end();
        why = "listener " + join(c.names) + ": " + verdict(m, "arrived on " + envelope_.listener);
        return m;
      }
      case Condition::Kind::role: {
        const bool m = std::find(c.roles.begin(), c.roles.end(), envelope_.role) != c.roles.end();
        std::vector<std::string> names;
        for (auto role : c.roles) names.push_back(config::to_string(role));
        why = "role " + join(names) + ": " + verdict(m, std::string("listener role ") + config::to_string(envelope_.role));
        return m;
      }
      case Condition::Kind::sender: {
        bool m = false;
        std::vector<std::string> pats;
        for (const auto& p : c.addresses) {
          pats.push_back(pattern_text(p));
          m = m || address_matches(p, envelope_.sender, nullptr);
        }
        why = "sender " + join(pats) + ": " + verdict(m, "<" + envelope_.sender + ">");
        return m;
      }
      case Condition::Kind::recipient: {
        bool m = false;
        std::vector<std::string> pats;
        for (const auto& p : c.addresses) {
          pats.push_back(pattern_text(p));
          m = m || address_matches(p, r.marks.address, r.team);
        }
        std::string detail = "<" + r.marks.address + ">";
        if (r.team) detail += " is team " + r.team->id;
        why = "recipient " + join(pats) + ": " + verdict(m, detail);
        return m;
      }
      case Condition::Kind::marked: {
        std::vector<std::string> found;
        if (r.marks.suffix) found.push_back(r.marks.phone ? "address suffix with phone" : "address suffix");
        if (marks_.subject_tag) found.push_back("subject tag " + *marks_.subject_tag);
        if (marks_.level) found.push_back(std::string("X-Sinetti-Protect ") + config::to_string(*marks_.level));
        if (marks_.phone) found.push_back("X-Sinetti-Sms");
        if (marks_.identity_code) found.push_back("X-Sinetti-Identity");
        const bool is_marked = !found.empty();
        const bool m = is_marked == c.flag;
        why = std::string("marked ") + (c.flag ? "true" : "false") + ": " +
              verdict(m, is_marked ? join(found) : std::string("no marks"));
        return m;
      }
      case Condition::Kind::header: {
        const std::string& name = c.names.at(0);
        const auto values = message_.headers_named(name);
        bool m = false;
        std::string detail;
        if (!c.flag) {
          m = values.empty();
          detail = values.empty() ? "absent" : "present";
        } else if (c.glob) {
          for (auto v : values) m = m || glob_match(*c.glob, std::string(v));
          detail = values.empty() ? "absent" : (m ? "value matches" : "value does not match");
        } else if (c.regex) {
          const auto& re = compiled_.header_regexes.at(&c);
          for (auto v : values) m = m || !re->find(v, 1).empty();
          detail = values.empty() ? "absent" : (m ? "value matches" : "value does not match");
        } else {
          m = !values.empty();
          detail = m ? "present" : "absent";
        }
        why = "header " + name + ": " + verdict(m, detail);
        return m;
      }
      case Condition::Kind::size: {
        bool m = true;
        if (c.larger_than) m = m && message_.size > *c.larger_than;
        if (c.smaller_than) m = m && message_.size < *c.smaller_than;
        std::string bounds;
        if (c.larger_than) bounds += "over " + config::format_size(*c.larger_than);
        if (c.smaller_than) bounds += std::string(bounds.empty() ? "" : " ") + "under " + config::format_size(*c.smaller_than);
        why = "size " + bounds + ": " + verdict(m, std::to_string(message_.size) + " bytes");
        return m;
      }
      case Condition::Kind::attachment: {
        std::string hit;
        for (const auto& a : message_.attachments) {
          bool m = true;
          if (!c.type_globs.empty()) {
            m = m && std::any_of(c.type_globs.begin(), c.type_globs.end(),
                                 [&](const std::string& g) { return glob_match(g, a.part.content_type); });
          }
          if (!c.name_globs.empty()) {
            m = m && std::any_of(c.name_globs.begin(), c.name_globs.end(),
                                 [&](const std::string& g) { return glob_match(g, a.part.filename); });
          }
          if (c.larger_than) m = m && a.part.decoded_size > *c.larger_than;
          if (m) {
            hit = "attachment " + a.part.path + " (" + a.part.content_type + ", " + std::to_string(a.part.decoded_size) + " bytes)";
            break;
          }
        }
        std::vector<std::string> props;
        if (!c.type_globs.empty()) props.push_back("type " + join(c.type_globs, "|"));
        if (!c.name_globs.empty()) props.push_back("name " + join(c.name_globs, "|"));
        if (c.larger_than) props.push_back("over " + config::format_size(*c.larger_than));
        const bool m = !hit.empty();
        why = "attachment " + join(props) + ": " +
              verdict(m, m ? hit : std::to_string(message_.attachments.size()) + " attachment(s), none matches");
        return m;
      }
      case Condition::Kind::detector: {
        bool m = false;
        std::vector<std::string> found;
        for (const auto& name : c.names) {
          const auto& f = detect(name);
          if (!f.empty()) {
            m = true;
            found.push_back(name + " in " + f.front().where + " at offset " + std::to_string(f.front().offset) +
                            (f.size() > 1 ? " (+" + std::to_string(f.size() - 1) + " more)" : ""));
          }
        }
        why = "detector " + join(c.names) + ": " + verdict(m, m ? join(found) : std::string("nothing found"));
        return m;
      }
    }
    return false;
  }

  const std::vector<Finding>& detect(const std::string& name) {
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    std::vector<Finding> out;
    auto scan = [&](std::string_view text, const std::string& where) {
      std::vector<TextSpan> spans;
      if (name == "finnish_identity_code") {
        spans = find_identity_codes(text);
      } else if (name == "iban") {
        spans = find_ibans(text);
      } else if (auto d = compiled_.detectors.find(name); d != compiled_.detectors.end()) {
        auto scanned = d->second->scan(text, max_findings_per_detector);
        spans = std::move(scanned.matches);
        // A scan cut short by the regex limits cannot say the text is clean: fail closed and count
        // it as found, so hostile text cannot slip past a rule by exhausting the matcher.
        if (scanned.limit_hit && spans.empty()) {
          out.push_back(Finding{name, where + " (scan limit reached; counted as found)", 0});
        }
      }
      for (const auto& s : spans) {
        if (out.size() >= max_findings_per_detector) break;
        out.push_back(Finding{name, where, s.offset});
      }
    };
    // A text cut at the reader's limit (mime::Limits::max_text_bytes) was not seen whole: fail closed
    // as for the regex limits, or anything placed after the cut would slip past the rule.
    auto scan_whole = [&](std::string_view text, bool truncated, const std::string& where) {
      const std::size_t before = out.size();
      scan(text, where);
      if (truncated && out.size() == before) out.push_back(Finding{name, where + " (too long to scan whole; counted as found)", 0});
    };
    scan(message_.subject, "subject");
    for (std::size_t i = 0; i < message_.texts.size(); ++i) {
      scan_whole(message_.texts[i].text, message_.texts[i].truncated,
                 "body text " + std::to_string(i + 1) + " (" + message_.texts[i].content_type + ")");
    }
    for (const auto& a : message_.attachments) {
      if (!a.part.text_like) continue;
      scan_whole(a.text, a.text_truncated,
                 "attachment " + a.part.path + (a.part.filename.empty() ? "" : " (" + a.part.filename + ")"));
    }
    return cache_.emplace(name, std::move(out)).first->second;
  }

  const std::map<std::string, std::vector<Finding>>& findings() const { return cache_; }

 private:
  static std::string verdict(bool matched, const std::string& detail) {
    return std::string(matched ? "yes" : "no") + " (" + detail + ")";
  }

  bool address_matches(const AddressPattern& p, const std::string& address, const config::Team* team) const {
    switch (p.kind) {
      case AddressPattern::Kind::exact: return lower(p.value) == lower(address);
      case AddressPattern::Kind::domain: return !address.empty() && lower(p.value) == domain_of(address);
      case AddressPattern::Kind::glob: return glob_match(p.value, address);
      case AddressPattern::Kind::team: return team != nullptr && (p.value == "any" || p.value == team->id);
    }
    return false;
  }

  const RoutingTable::Compiled& compiled_;
  const Envelope& envelope_;
  const mime::Message& message_;
  const MessageMarks& marks_;
  std::map<std::string, std::vector<Finding>> cache_;
};

void reject(Decision& d, int code, std::string text) {
  d.action = Action::Kind::reject;
  d.code = code;
  d.text = std::move(text);
  d.team = nullptr;
  d.phone.reset();
  d.identity_bound = false;
}

}  // namespace

std::shared_ptr<const RoutingTable> RoutingTable::compile(std::shared_ptr<const config::Config> config,
                                                          std::vector<config::Diagnostic>& errors) {
  auto compiled = std::make_shared<Compiled>();
  const std::size_t before = errors.size();
  for (const auto& d : config->routing.detectors) {
    auto detector = d.regex ? PatternDetector::regex(*d.regex, d.case_sensitive)
                            : PatternDetector::keywords(d.keywords, d.case_sensitive);
    if (detector) compiled->detectors.emplace(d.name, *detector);
    else errors.push_back(config::Diagnostic{d.where, "detector '" + d.name + "': " + detector.error().message});
  }
  for (const auto& rule : config->routing.rules) compile_conditions(rule.when, *compiled, errors);
  if (errors.size() != before) return nullptr;
  auto table = std::shared_ptr<RoutingTable>(new RoutingTable());
  table->config_ = std::move(config);
  table->compiled_ = std::move(compiled);
  return table;
}

Routed RoutingTable::route(const Envelope& envelope, const mime::Message& message) const {
  const auto& cfg = *config_;
  Routed out;
  out.marks = parse_message_marks(message, cfg.routing.marks, cfg.sms.default_country);
  Evaluation eval(*compiled_, envelope, message, out.marks);
  for (const auto& recipient : envelope.recipients) {
    Decision d;
    d.recipient = recipient;
    Evaluation::Recipient r;
    r.marks = parse_recipient_marks(recipient, cfg.routing.marks, cfg.sms.default_country);
    d.address = r.marks.address;
    d.shown = r.marks.phone ? r.marks.address + "." + sms::mask_phone(*r.marks.phone) + ".s" : recipient;
    for (const auto& team : cfg.teams) {
      if (lower(team.address) == lower(r.marks.address)) r.team = &team;
    }
    for (const auto& rule : cfg.routing.rules) {
      std::string why;
      const bool matched = eval.eval(rule.when, r, why);
      d.trace.push_back(RuleTrace{rule.name, rule.where, matched, why});
      if (!matched) continue;
      d.rule = &rule;
      const Action& a = rule.action;
      d.action = a.kind;
      switch (a.kind) {
        case Action::Kind::reject:
          reject(d, a.code, a.text);
          break;
        case Action::Kind::forward: {
          d.team = a.team == "from_recipient" ? r.team : cfg.find_team(a.team);
          if (!d.team) reject(d, 550, "5.1.1 <" + r.marks.address + ">: not a team address");
          break;
        }
        case Action::Kind::protect: {
          d.phone = r.marks.phone ? r.marks.phone : out.marks.phone;
          const bool identity = out.marks.identity_code.has_value();
          if (a.level) d.level = *a.level;
          else if (out.marks.level) d.level = *out.marks.level;
          else if (d.phone) d.level = ProtectionLevel::sms;
          else if (identity) d.level = ProtectionLevel::personal;
          else d.level = ProtectionLevel::letter;
          d.team = r.team;
          d.identity_bound = identity && d.level == ProtectionLevel::personal;
          if (r.marks.problem) {
            reject(d, 550, "5.1.3 <" + recipient + ">: " + *r.marks.problem);
          } else if (!out.marks.problems.empty()) {
            reject(d, 550, "5.6.0 " + out.marks.problems.front());
          } else if (d.level == ProtectionLevel::sms && !d.phone) {
            reject(d, 550, "5.7.0 Protection level sms needs a phone number: write the recipient as "
                           "address.PHONE.s or add an X-Sinetti-Sms header");
          } else if (d.level == ProtectionLevel::personal && !identity) {
            reject(d, 550, "5.7.0 Protection level personal needs an X-Sinetti-Identity header with a valid "
                           "personal identity code");
          }
          if (d.level != ProtectionLevel::sms) d.phone.reset();
          break;
        }
      }
      break;
    }
    out.decisions.push_back(std::move(d));
  }
  for (const auto& [name, findings] : eval.findings()) {
    out.findings.insert(out.findings.end(), findings.begin(), findings.end());
  }
  return out;
}

CompiledConfig load_and_compile(const std::filesystem::path& path, const config::LoadOptions& options) {
  CompiledConfig out;
  auto loaded = config::load_file(path, options);
  out.errors = std::move(loaded.errors);
  if (!loaded.config) return out;
  out.routing = RoutingTable::compile(loaded.config, out.errors);
  // The SMS provider settings only the driver can judge (body template, message id pointer), so
  // check-config, start-up and reload refuse what make_sms_sender would refuse.
  bool sms_ok = true;
  if (loaded.config->sms.driver == config::SmsDriver::http && loaded.config->sms.http) {
    for (auto& e : sms::validate(*loaded.config->sms.http)) {
      out.errors.push_back(std::move(e));
      sms_ok = false;
    }
  }
  if (out.routing && sms_ok) out.config = std::move(loaded.config);
  if (!out.config) out.routing.reset();
  return out;
}

std::string describe(const Decision& d) {
  switch (d.action) {
    case Action::Kind::protect: {
      std::string s = std::string("protect (level ") + config::to_string(d.level);
      if (d.phone) s += ", phone " + sms::mask_phone(*d.phone);
      if (d.identity_bound) s += ", bound to the identity given";
      s += ")";
      s += d.team ? ", notify team " + d.team->id + " at <" + d.team->mailbox + ">" : ", notify <" + d.address + ">";
      return s;
    }
    case Action::Kind::forward:
      return "forward to team " + d.team->id + " at <" + d.team->mailbox + ">";
    case Action::Kind::reject:
      return "reject " + std::to_string(d.code) + " " + d.text;
  }
  return "?";
}

}  // namespace sinetti::routing
