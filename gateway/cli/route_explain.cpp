// `sinetti route explain FILE.eml --from A --to B...`: show every rule tried for each recipient, why
// it matched or not, and the decision — a dry run like `exim -bt`, with no side effects. Output never
// contains matched values (identity codes, IBANs), phone numbers in full or message text.
#include <iostream>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "gateway/cli/commands.hpp"
#include "gateway/routing/table.hpp"
#include "sms/phone.hpp"
#include "smtp/mime/message.hpp"

namespace sinetti::cli {
namespace {

const char* action_name(config::Action::Kind k) {
  switch (k) {
    case config::Action::Kind::protect: return "protect";
    case config::Action::Kind::forward: return "forward";
    case config::Action::Kind::reject: return "reject";
  }
  return "?";
}

nlohmann::json to_json(const routing::Routed& routed, const mime::Message& message, const ExplainOptions& o,
                       const config::Listener& listener) {
  using nlohmann::json;
  json out;
  out["message"] = {{"file", o.message.string()},
                    {"size", message.size},
                    {"text_parts", message.texts.size()},
                    {"attachments", message.attachments.size()},
                    {"defects", message.defects}};
  json to = json::array();
  for (const auto& d : routed.decisions) to.push_back(d.shown);
  out["envelope"] = {{"from", o.sender}, {"to", to}, {"listener", listener.name},
                     {"role", config::to_string(listener.role)}};
  const auto& m = routed.marks;
  json marks = json::object();
  if (m.subject_tag) marks["subject_tag"] = *m.subject_tag;
  if (m.level) marks["level"] = config::to_string(*m.level);
  if (m.phone) marks["phone"] = sms::mask_phone(*m.phone);
  marks["identity"] = m.identity_code.has_value();
  if (m.language) marks["language"] = config::to_string(*m.language);
  marks["problems"] = m.problems;
  out["marks"] = marks;
  json findings = json::array();
  for (const auto& f : routed.findings) findings.push_back({{"detector", f.detector}, {"where", f.where}, {"offset", f.offset}});
  out["findings"] = findings;
  json recipients = json::array();
  for (const auto& d : routed.decisions) {
    json trace = json::array();
    for (const auto& t : d.trace) {
      trace.push_back({{"rule", t.rule}, {"location", t.where.str()}, {"matched", t.matched}, {"why", t.why}});
    }
    json decision = {{"action", action_name(d.action)}, {"rule", d.rule ? d.rule->name : ""}, {"summary", routing::describe(d)}};
    if (d.action == config::Action::Kind::protect) {
      decision["level"] = config::to_string(d.level);
      if (d.phone) decision["phone"] = sms::mask_phone(*d.phone);
      decision["identity_bound"] = d.identity_bound;
    }
    if (d.team) {
      decision["team"] = d.team->id;
      decision["mailbox"] = d.team->mailbox;
    }
    if (d.action == config::Action::Kind::reject) {
      decision["code"] = d.code;
      decision["text"] = d.text;
    }
    recipients.push_back({{"recipient", d.shown}, {"address", d.address}, {"trace", trace}, {"decision", decision}});
  }
  out["recipients"] = recipients;
  if (m.subject_tag) out["rewrites"]["subject"] = "tag removed";
  return out;
}

void print_text(const routing::Routed& routed, const mime::Message& message, const ExplainOptions& o,
                const config::Listener& listener) {
  std::cout << "message: " << o.message.string() << " (" << message.size << " bytes, " << message.texts.size()
            << " text part(s), " << message.attachments.size() << " attachment(s))\n";
  for (const auto& d : message.defects) std::cout << "  defect: " << d << "\n";
  std::cout << "envelope: from <" << o.sender << "> on listener " << listener.name << " (" << config::to_string(listener.role)
            << ")\n";
  const auto& m = routed.marks;
  std::vector<std::string> marks;
  if (m.subject_tag) marks.push_back("subject tag " + *m.subject_tag + " (removed from the subject)");
  if (m.level) marks.push_back(std::string("X-Sinetti-Protect: ") + config::to_string(*m.level));
  if (m.phone) marks.push_back("X-Sinetti-Sms: " + sms::mask_phone(*m.phone));
  if (m.identity_code) marks.push_back("X-Sinetti-Identity: a valid identity code");
  if (m.language) marks.push_back(std::string("language ") + config::to_string(*m.language));
  std::cout << "marks: ";
  if (marks.empty()) std::cout << "none";
  for (std::size_t i = 0; i < marks.size(); ++i) std::cout << (i ? "; " : "") << marks[i];
  std::cout << "\n";
  for (const auto& p : m.problems) std::cout << "  problem: " << p << "\n";
  if (!routed.findings.empty()) {
    std::cout << "findings:\n";
    for (const auto& f : routed.findings) std::cout << "  " << f.detector << " in " << f.where << " at offset " << f.offset << "\n";
  }
  for (const auto& d : routed.decisions) {
    std::cout << "\nrecipient <" << d.shown << ">";
    if (d.address != d.recipient) std::cout << " -> <" << d.address << "> (protection suffix removed)";
    std::cout << "\n";
    for (std::size_t i = 0; i < d.trace.size(); ++i) {
      const auto& t = d.trace[i];
      std::cout << "  " << (i + 1) << ". " << t.rule << " [" << t.where.str() << "]: " << (t.matched ? "MATCH" : "no match")
                << "\n     " << t.why << "\n";
    }
    std::cout << "  decision: " << routing::describe(d);
    if (d.rule) std::cout << " (rule " << d.rule->name << ")";
    std::cout << "\n";
  }
}

}  // namespace

int route_explain(const std::filesystem::path& config_path, const ExplainOptions& o) {
  const auto loaded = routing::load_and_compile(config_path, config::LoadOptions{false});
  if (!loaded.routing) {
    std::cerr << "sinetti: " << config_path.string() << " is not valid; run check-config"
              << (loaded.errors.empty() ? "" : ": " + loaded.errors.front().str()) << "\n";
    return exit_problem;
  }
  const auto& cfg = *loaded.config;
  const config::Listener* listener = o.listener ? cfg.find_listener(*o.listener) : &cfg.listeners.front();
  if (!listener) {
    std::cerr << "sinetti: no listener named '" << *o.listener << "' in " << config_path.string() << "\n";
    return exit_problem;
  }
  auto message = mime::read_message_file(o.message);
  if (!message) {
    std::cerr << "sinetti: " << o.message.string() << ": " << message.error().message << "\n";
    return exit_problem;
  }
  routing::Envelope envelope{o.sender, o.recipients, listener->name, listener->role};
  const auto routed = loaded.routing->route(envelope, *message);
  if (o.json) {
    std::cout << to_json(routed, *message, o, *listener).dump(2) << "\n";
  } else {
    print_text(routed, *message, o, *listener);
  }
  return exit_ok;
}

}  // namespace sinetti::cli
