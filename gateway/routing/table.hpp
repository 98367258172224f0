// The routing table: the configured rules compiled once (detectors and regexes built, teams resolved)
// and applied per envelope recipient — first match wins — to give a Decision: protect, forward or
// reject, with the rewrites the marks ask for. Every evaluation also records a trace of the rules
// tried and why they matched or not, which `sinetti route explain` prints. Nothing here has side
// effects. Untrusted input: envelope addresses and the parsed message.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/routing/detectors.hpp"
#include "gateway/routing/marks.hpp"
#include "smtp/mime/message.hpp"

namespace sinetti::routing {

struct Envelope {
  std::string sender;                   // reverse path, "" for the null sender
  std::vector<std::string> recipients;  // forward paths as received
  std::string listener;                 // listener name
  config::ListenerRole role = config::ListenerRole::inbound;
};

// Where a detector found something: which text, and where in it. Never the value.
struct Finding {
  std::string detector;
  std::string where;     // "body text 1", "attachment 2 (notes.txt)", ...
  std::size_t offset = 0;
};

struct RuleTrace {
  std::string rule;
  config::Location where;
  bool matched = false;
  std::string why;  // one line: the conditions and their outcome
};

struct Decision {
  std::string recipient;   // as received
  std::string shown;       // as received, with a phone number in the suffix masked: for output and logs
  std::string address;     // after removing a protection suffix
  const config::Rule* rule = nullptr;
  config::Action::Kind action = config::Action::Kind::reject;
  // protect
  config::ProtectionLevel level = config::ProtectionLevel::letter;
  std::optional<std::string> phone;      // E.164, for level sms
  bool identity_bound = false;           // level personal: bound to the X-Sinetti-Identity code
  const config::Team* team = nullptr;    // forward: the team; protect: the team notified, if any
  // reject
  int code = 550;
  std::string text;
  std::vector<RuleTrace> trace;
};

struct Routed {
  MessageMarks marks;
  std::vector<Finding> findings;       // every detector that ran, by kind and position
  std::vector<Decision> decisions;     // one per envelope recipient, in order
};

class RoutingTable {
 public:
  // Builds detectors and regexes. Null when something does not compile; `errors` then holds every
  // problem with the configuration position of what failed.
  static std::shared_ptr<const RoutingTable> compile(std::shared_ptr<const config::Config> config,
                                                     std::vector<config::Diagnostic>& errors);

  Routed route(const Envelope& envelope, const mime::Message& message) const;

  const config::Config& config() const { return *config_; }

  struct Compiled;  // detectors and regexes, keyed by name / condition

 private:
  RoutingTable() = default;
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const Compiled> compiled_;
};

// A configuration file loaded, validated (the SMS provider settings by sms::validate too) and its
// routing compiled: what check-config checks and what serve runs. Errors come from every step.
struct CompiledConfig {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const RoutingTable> routing;
  std::vector<config::Diagnostic> errors;
};
CompiledConfig load_and_compile(const std::filesystem::path& path, const config::LoadOptions& options = {});

// Decision text for humans: "protect (sms, phone ••••••••••67)", "forward to team neuvonta", ...
std::string describe(const Decision& d);

}  // namespace sinetti::routing
