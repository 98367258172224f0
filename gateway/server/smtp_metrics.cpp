#include "gateway/server/smtp_metrics.hpp"

#include <functional>

namespace sinetti::server {
namespace {

std::string label_value(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

SmtpMetrics::SmtpMetrics(const std::vector<std::string>& listeners) {
  for (const auto& l : listeners) listeners_.emplace(l, std::make_unique<Counters>());
}

SmtpMetrics::Counters& SmtpMetrics::of(std::string_view listener) {
  const auto it = listeners_.find(listener);
  return it == listeners_.end() ? unknown_ : *it->second;
}

std::string SmtpMetrics::render() const {
  std::string out;
  using Get = std::function<std::int64_t(const Counters&)>;
  auto family = [&](const char* name, const char* type, const char* help,
                    const std::vector<std::pair<std::string, Get>>& series) {
    out += std::string("# HELP ") + name + " " + help + "\n";
    out += std::string("# TYPE ") + name + " " + type + "\n";
    for (const auto& [listener, counters] : listeners_) {
      for (const auto& [extra, get] : series) {
        out += std::string(name) + "{listener=\"" + label_value(listener) + "\"" + extra + "} " +
               std::to_string(get(*counters)) + "\n";
      }
    }
  };
  auto v = [](auto member) { return Get([member](const Counters& c) { return static_cast<std::int64_t>((c.*member).load()); }); };
  family("sinetti_smtp_sessions_total", "counter", "SMTP sessions started.", {{"", v(&Counters::sessions)}});
  family("sinetti_smtp_sessions_active", "gauge", "SMTP sessions in progress.", {{"", v(&Counters::active)}});
  family("sinetti_smtp_connections_refused_total", "counter", "Connections refused at accept, by reason.",
         {{",reason=\"network\"", v(&Counters::refused_network)},
          {",reason=\"max_connections\"", v(&Counters::refused_max_connections)}});
  family("sinetti_messages_received_total", "counter", "Messages accepted (2xx after DATA).",
         {{"", v(&Counters::messages_accepted)}});
  family("sinetti_messages_rejected_total", "counter",
         "Messages refused after DATA: temporary (4xx), permanent (5xx), or protocol (refused while arriving).",
         {{",reason=\"temporary\"", v(&Counters::rejected_temporary)},
          {",reason=\"permanent\"", v(&Counters::rejected_permanent)},
          {",reason=\"protocol\"", v(&Counters::rejected_protocol)}});
  family("sinetti_smtp_auth_total", "counter", "AUTH attempts by result.",
         {{",result=\"ok\"", v(&Counters::auth_ok)}, {",result=\"failed\"", v(&Counters::auth_failed)}});
  family("sinetti_smtp_tls_handshakes_total", "counter", "STARTTLS handshakes by result.",
         {{",result=\"ok\"", v(&Counters::tls_ok)}, {",result=\"failed\"", v(&Counters::tls_failed)}});
  return out;
}

}  // namespace sinetti::server
