// Loading: YAML text → Config snapshot, then whole-configuration validation and file checks; every
// error is collected and reported at once, sorted by position.
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/schema.hpp"

namespace sinetti::config {

const char* to_string(Language l) {
  switch (l) {
    case Language::fi: return "fi";
    case Language::sv: return "sv";
    case Language::en: return "en";
  }
  return "?";
}

const char* to_string(ListenerRole r) { return r == ListenerRole::inbound ? "inbound" : "submission"; }

const char* to_string(RelayTls t) {
  switch (t) {
    case RelayTls::require: return "require";
    case RelayTls::opportunistic: return "opportunistic";
    case RelayTls::none: return "none";
  }
  return "?";
}

const char* to_string(ProtectionLevel l) {
  switch (l) {
    case ProtectionLevel::letter: return "letter";
    case ProtectionLevel::sms: return "sms";
    case ProtectionLevel::personal: return "personal";
  }
  return "?";
}

std::string ListenAddress::str() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool ListenAddress::is_loopback() const {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

const Team* Config::find_team(std::string_view id) const {
  for (const auto& t : teams) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::string Config::public_host() const {
  std::string_view url = instance.public_url;
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (url.starts_with('[')) return std::string(url.substr(0, url.find(']') + 1));
  return std::string(url.substr(0, url.find(':')));
}

std::string Config::notification_from() const {
  if (!notifications.from.empty()) return notifications.from;
  return "noreply@" + public_host();
}

std::string Config::reply_domain() const {
  if (!notifications.reply_domain.empty()) return notifications.reply_domain;
  const std::string from = notification_from();
  return from.substr(from.rfind('@') + 1);
}

const Listener* Config::find_listener(std::string_view name) const {
  for (const auto& l : listeners) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

Result<std::string> read_secret(const Secret& secret) {
  if (secret.source == Secret::Source::env) {
    const char* v = std::getenv(secret.ref.c_str());
    if (v == nullptr) return make_error("environment variable " + secret.ref + " is not set");
    return std::string(v);
  }
  std::ifstream in(secret.ref, std::ios::binary);
  if (!in) return make_error("cannot read " + secret.ref + ": " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  std::string value = s.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

namespace detail {

YAML::Node undefined_node() {
  static const YAML::Node empty_map(YAML::NodeType::Map);
  return empty_map["absent"];
}

Result<IpNetwork> parse_network(std::string_view text) {
  IpNetwork net;
  net.text = std::string(text);
  const auto slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  unsigned max_prefix = 32;
  if (inet_pton(AF_INET, addr.c_str(), net.address.data()) == 1) {
    net.v6 = false;
  } else if (inet_pton(AF_INET6, addr.c_str(), net.address.data()) == 1) {
    net.v6 = true;
    max_prefix = 128;
  } else {
    return make_error("not an IP address or network (e.g. 10.0.0.0/8, 2001:db8::/32)");
  }
  net.prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string p(text.substr(slash + 1));
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        static_cast<unsigned>(std::stoi(p)) > max_prefix) {
      return make_error("prefix length must be 0–" + std::to_string(max_prefix));
    }
    net.prefix = static_cast<unsigned>(std::stoi(p));
  }
  // Host bits set usually means a typo (10.1.2.3/8); refuse rather than guess.
  const unsigned bytes = net.v6 ? 16 : 4;
  for (unsigned bit = net.prefix; bit < bytes * 8; ++bit) {
    if (net.address[bit / 8] & (0x80u >> (bit % 8))) return make_error("address has bits set beyond the prefix length");
  }
  return net;
}

namespace {

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

bool looks_like_json_number(const std::string& s) {
  if (s.empty()) return false;
  std::size_t i = s[0] == '-' ? 1 : 0;
  if (i >= s.size()) return false;
  if (s[i] == '0' && i + 1 < s.size()) return false;  // no leading zeros: "0401234567" stays a string
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

void to_json(std::string& out, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out += ',';
        first = false;
        json_string(out, kv.first.Scalar());
        out += ':';
        to_json(out, kv.second);
      }
      out += '}';
      break;
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      for (std::size_t i = 0; i < n.size(); ++i) {
        if (i) out += ',';
        to_json(out, n[i]);
      }
      out += ']';
      break;
    }
    case YAML::NodeType::Scalar: {
      const bool plain = n.Tag() == "?";
      const std::string& s = n.Scalar();
      if (plain && (s == "true" || s == "false" || looks_like_json_number(s))) out += s;
      else json_string(out, s);
      break;
    }
    default: out += "null";
  }
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  return host.starts_with("127.");
}

void check_address(Context& ctx, const Location& where, const std::string& field, const std::string& address) {
  const auto at = address.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= address.size() ||
      address.find_first_of(" \t\r\n<>\"(),;") != std::string::npos) {
    ctx.error(where, field + ": '" + address + "' is not a mail address (local@domain)");
  }
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 255 || d.front() == '.' || d.back() == '.' || d.find("..") != std::string_view::npos) return false;
  return std::all_of(d.begin(), d.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
  });
}

void check_team_ids(Context& ctx, const Condition& c, const Config& config, const std::set<std::string, std::less<>>& detectors) {
  for (const auto& child : c.children) check_team_ids(ctx, child, config, detectors);
  switch (c.kind) {
    case Condition::Kind::recipient:
      for (const auto& p : c.addresses) {
        if (p.kind == AddressPattern::Kind::team && p.value != "any" && !config.find_team(p.value)) {
          ctx.error(c.where, "recipient: team '" + p.value + "' is not defined under teams");
        }
      }
      break;
    case Condition::Kind::listener:
      for (const auto& n : c.names) {
        if (!config.find_listener(n)) {
          std::set<std::string, std::less<>> names;
          for (const auto& l : config.listeners) names.insert(l.name);
          ctx.error(c.where, "listener: '" + n + "' is not a listener" + did_you_mean(n, names));
        }
      }
      break;
    case Condition::Kind::detector:
      for (const auto& n : c.names) {
        if (!detectors.contains(n)) ctx.error(c.where, "detector: '" + n + "' is not defined" + did_you_mean(n, detectors));
      }
      break;
    default: break;
  }
}

}  // namespace

std::string yaml_to_json(const YAML::Node& node) {
  std::string out;
  to_json(out, node);
  return out;
}

void check_url(Context& ctx, const Location& where, const std::string& field, const std::string& url) {
  if (url.starts_with("https://") && url.size() > 8) return;
  if (url.starts_with("http://")) {
    std::string_view rest(url);
    rest.remove_prefix(7);
    const auto end = rest.find_first_of("/");
    std::string_view hostport = rest.substr(0, end);
    std::string_view host = hostport;
    if (host.starts_with("[")) host = host.substr(0, host.find(']') + 1);
    else host = host.substr(0, host.find(':'));
    if (is_loopback_host(host)) return;
    ctx.error(where, field + ": '" + url + "' must use https (plain http is allowed only for a loopback host)");
    return;
  }
  ctx.error(where, field + ": '" + url + "' is not an https URL");
}

void validate(Context& ctx, const Config& c) {
  // Instance.
  {
    std::set<Language> seen;
    for (Language l : c.instance.languages) {
      if (!seen.insert(l).second) ctx.error(ctx.where("instance.languages"), std::string("instance.languages: '") + to_string(l) + "' twice");
    }
    if (c.instance.languages.empty()) ctx.error(ctx.where("instance.languages"), "instance.languages: needs at least one language");
    if (!c.instance.languages.empty() && !seen.contains(c.instance.default_language)) {
      ctx.error(ctx.where("instance.default_language"), std::string("instance.default_language: '") + to_string(c.instance.default_language) +
                                                "' is not in instance.languages");
    }
  }
  // Listeners.
  if (c.listeners.empty()) ctx.error(ctx.where("listeners"), "listeners: at least one listener is needed");
  std::map<std::string, const Listener*> listener_names;
  std::map<std::string, const Listener*> listener_addresses;
  for (const auto& l : c.listeners) {
    if (auto [it, ok] = listener_names.emplace(l.name, &l); !ok && !l.name.empty()) {
      ctx.error(l.where, "listeners: duplicate listener name '" + l.name + "' (first at line " + std::to_string(it->second->where.line) + ")");
    }
    if (l.address.port != 0) {
      if (auto [it, ok] = listener_addresses.emplace(l.address.str(), &l); !ok) {
        ctx.error(l.where, "listeners: '" + l.name + "' uses the address of '" + it->second->name + "' (" + l.address.str() + ")");
      }
    }
    if (l.require_tls && !l.tls) ctx.error(l.where, "listener '" + l.name + "': require_tls needs a tls section");
    if (l.auth && !l.tls) ctx.error(l.where, "listener '" + l.name + "': auth needs tls (AUTH is offered only after STARTTLS)");
    if (l.role == ListenerRole::submission && l.allowed_networks.empty() && !l.auth) {
      ctx.error(l.where, "listener '" + l.name + "': a submission listener needs allowed_networks or auth (otherwise it is an open relay)");
    }
    if (l.role == ListenerRole::inbound && l.auth) {
      ctx.error(l.where, "listener '" + l.name + "': auth belongs on submission listeners, not inbound");
    }
  }
  // Public URL.
  if (!c.instance.public_url.empty()) check_url(ctx, ctx.where("instance.public_url"), "instance.public_url", c.instance.public_url);
  // Notifications.
  if (!c.notifications.from.empty()) {
    check_address(ctx, ctx.where("notifications.from"), "notifications.from", c.notifications.from);
  }
  if (!c.notifications.reply_domain.empty() && !valid_domain(c.notifications.reply_domain)) {
    ctx.error(ctx.where("notifications.reply_domain"), "notifications.reply_domain: '" + c.notifications.reply_domain + "' is not a domain name");
  }
  // Teams.
  std::map<std::string, const Team*> team_ids;
  std::map<std::string, const Team*> team_addresses;
  for (const auto& t : c.teams) {
    if (!t.id.empty() && !std::all_of(t.id.begin(), t.id.end(), [](char ch) {
          return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        })) {
      ctx.error(t.where, "teams: id '" + t.id + "' may hold only a-z, 0-9, - and _");
    }
    if (t.id == "any" || t.id == "from_recipient") ctx.error(t.where, "teams: '" + t.id + "' is a reserved word, not a team id");
    if (auto [it, ok] = team_ids.emplace(t.id, &t); !ok && !t.id.empty()) {
      ctx.error(t.where, "teams: duplicate team id '" + t.id + "' (first at line " + std::to_string(it->second->where.line) + ")");
    }
    if (!t.address.empty()) {
      check_address(ctx, t.where, "teams." + t.id + ".address", t.address);
      std::string lower = t.address;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (auto [it, ok] = team_addresses.emplace(lower, &t); !ok) {
        ctx.error(t.where, "teams: '" + t.id + "' has the same address as '" + it->second->id + "'");
      }
    }
    if (!t.mailbox.empty()) check_address(ctx, t.where, "teams." + t.id + ".mailbox", t.mailbox);
    for (Language l : c.instance.languages) {
      if (!t.name.contains(l)) ctx.error(t.where, "teams." + t.id + ".name: no name in '" + to_string(l) + "'");
    }
  }
  // Routing.
  std::set<std::string, std::less<>> detectors = {"finnish_identity_code", "iban"};
  for (const auto& d : c.routing.detectors) {
    if (d.name == "finnish_identity_code" || d.name == "iban") {
      ctx.error(d.where, "routing.detectors: '" + d.name + "' is a built-in detector name");
    } else if (!d.name.empty() && !detectors.insert(d.name).second) {
      ctx.error(d.where, "routing.detectors: duplicate detector name '" + d.name + "'");
    }
  }
  std::map<std::string, const Rule*> rule_names;
  const Rule* catch_all = nullptr;
  for (const auto& rule : c.routing.rules) {
    if (auto [it, ok] = rule_names.emplace(rule.name, &rule); !ok && !rule.name.empty()) {
      ctx.error(rule.where, "routing.rules: duplicate rule name '" + rule.name + "' (first at line " + std::to_string(it->second->where.line) + ")");
    }
    if (catch_all) {
      ctx.error(rule.where, "routing.rules: rule '" + rule.name + "' is never reached: '" + catch_all->name +
                                "' before it matches every message");
    }
    if (rule.when.kind == Condition::Kind::always && !catch_all) catch_all = &rule;
    check_team_ids(ctx, rule.when, c, detectors);
    if (rule.action.kind == Action::Kind::forward && rule.action.team != "from_recipient" && !rule.action.team.empty() &&
        !c.find_team(rule.action.team)) {
      std::set<std::string, std::less<>> ids;
      for (const auto& t : c.teams) ids.insert(t.id);
      ctx.error(rule.where, "rule '" + rule.name + "': forward to team '" + rule.action.team + "', which is not defined under teams" +
                                did_you_mean(rule.action.team, ids));
    }
    if (rule.action.kind == Action::Kind::reject && !rule.action.text.empty() &&
        rule.action.text.find_first_of("\r\n") != std::string::npos) {
      ctx.error(rule.where, "rule '" + rule.name + "': reject text must be one line");
    }
  }
  if (!c.routing.rules.empty() && !catch_all) {
    const Rule& last = c.routing.rules.back();
    ctx.error(last.where, "routing.rules: the last rule must match every message (when: {}) so that no message goes "
                          "undecided; '" + last.name + "' has conditions");
  }
  // OIDC.
  std::set<std::string> provider_ids;
  for (const auto& p : c.oidc_providers) {
    if (!provider_ids.insert(p.id).second) ctx.error(p.where, "oidc.providers: duplicate provider id '" + p.id + "'");
  }
}

void check_files(Context& ctx, const Config& config) {
  (void)config;
  for (const auto& ref : ctx.files()) {
    struct stat st {};
    if (::stat(ref.path.c_str(), &st) != 0) {
      if (errno == ENOENT && ref.may_be_missing) continue;
      ctx.error(ref.where, "cannot read " + ref.path.string() + ": " + std::strerror(errno));
      continue;
    }
    if (ref.kind == FileRef::Kind::readable_dir) {
      if (!S_ISDIR(st.st_mode)) ctx.error(ref.where, ref.path.string() + " is not a directory");
      else if (::access(ref.path.c_str(), R_OK | X_OK) != 0) ctx.error(ref.where, "cannot read " + ref.path.string() + ": " + std::strerror(errno));
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      ctx.error(ref.where, ref.path.string() + " is not a regular file");
      continue;
    }
    if (::access(ref.path.c_str(), R_OK) != 0) {
      ctx.error(ref.where, "cannot read " + ref.path.string() + ": " + std::strerror(errno));
      continue;
    }
    const bool secret = ref.kind == FileRef::Kind::secret_file || ref.kind == FileRef::Kind::tls_pair_key;
    if (secret && (st.st_mode & S_IROTH)) {
      ctx.error(ref.where, ref.path.string() + " holds a secret but is readable by everyone; chmod o-r it");
    }
  }
}

namespace {

void env_secrets(Context& ctx, const Config& c) {
  auto check = [&](const std::optional<Secret>& s, const std::string& field) {
    if (s && s->source == Secret::Source::env && std::getenv(s->ref.c_str()) == nullptr) {
      ctx.error(s->where, field + ": environment variable " + s->ref + " is not set");
    }
  };
  check(c.storage.postgresql_dsn, "storage.postgresql.dsn");
  if (c.delivery.relay && c.delivery.relay->auth) check(c.delivery.relay->auth->password, "delivery.relay.auth.password");
  if (c.sms.http) {
    check(c.sms.http->password, "sms.http.auth.password");
    check(c.sms.http->token, "sms.http.auth.token");
  }
  for (const auto& p : c.oidc_providers) check(p.client_secret, "oidc provider '" + p.id + "' client_secret");
}

LoadResult finish(Context& ctx, std::shared_ptr<Config> config, const LoadOptions& options) {
  if (options.check_files) {
    check_files(ctx, *config);
    env_secrets(ctx, *config);
  }
  auto& errors = ctx.errors();
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  LoadResult result;
  result.errors = std::move(errors);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace
}  // namespace detail

LoadResult load_string(const std::string& yaml, const std::string& file_name, const LoadOptions& options) {
  detail::Context ctx(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    LoadResult r;
    r.errors.push_back(Diagnostic{ctx.at(e.mark), "YAML syntax: " + e.msg});
    return r;
  }
  auto config = std::make_shared<Config>();
  config->source_file = file_name;
  {
    if (!root.IsMap()) {
      LoadResult r;
      r.errors.push_back(Diagnostic{Location{file_name, 1, 1}, "configuration: expected a mapping of sections (instance, listeners, ...)"});
      return r;
    }
    detail::MapReader reader(ctx, root, "");
    detail::read_config(reader, *config);
  }
  detail::validate(ctx, *config);
  return detail::finish(ctx, std::move(config), options);
}

LoadResult load_file(const std::filesystem::path& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(Diagnostic{Location{path.string(), 0, 0}, std::string("cannot read configuration: ") + std::strerror(errno)});
    return r;
  }
  std::ostringstream s;
  s << in.rdbuf();
  return load_string(s.str(), path.string(), options);
}

std::string reference_markdown() {
  std::vector<detail::FieldDoc> docs;
  detail::Context ctx("", &docs);
  Config scratch;
  detail::MapReader reader(ctx, YAML::Node(), "");
  detail::read_config(reader, scratch);
  std::string out = "| key | type | default | bounds | description |\n|---|---|---|---|---|\n";
  auto cell = [](std::string s) {
    std::string r;
    for (char ch : s) r += ch == '|' ? std::string("\\|") : std::string(1, ch);
    return r;
  };
  for (const auto& d : docs) {
    out += "| `" + d.path + "` | " + cell(d.type) + " | " + (d.required ? "required" : cell(d.default_text.empty() ? "" : "`" + d.default_text + "`")) +
           " | " + cell(d.bounds) + " | " + cell(d.doc) + " |\n";
  }
  out += "\n" + detail::conditions_markdown();
  return out;
}

}  // namespace sinetti::config
