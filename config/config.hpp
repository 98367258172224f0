// The typed configuration: one immutable snapshot of the YAML file an operator writes. Plain structs,
// no behaviour; defaults and bounds of every field are declared next to its reader in schema.cpp, and
// the README's configuration reference is generated from there (`sinetti config-reference`).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/units.hpp"

namespace sinetti::config {

// Where a value was written, for errors found after loading (routing compilation, reload).
struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string str() const { return file + ":" + std::to_string(line) + ":" + std::to_string(column); }
};

// A secret is never written inline: it comes from a file (`KEY_file: PATH`) or the environment
// (`KEY: env:NAME`). Only its source is kept here; the value is read when it is needed.
struct Secret {
  enum class Source { file, env };
  Source source = Source::file;
  std::string ref;  // path or variable name
  Location where;
};

struct ListenAddress {
  std::string host;        // IPv4, IPv6 (without brackets) or "localhost"
  std::uint16_t port = 0;  // 0: the kernel picks one (tests)
  std::string str() const;
  bool is_loopback() const;
};

struct IpNetwork {
  bool v6 = false;
  std::array<std::uint8_t, 16> address{};  // network bytes, 4 used for IPv4
  unsigned prefix = 0;
  std::string text;  // as written
};

struct TlsFiles {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  bool self_signed = false;  // create a self-signed pair on first start if the files are missing (dev)
};

enum class Language { fi, sv, en };
const char* to_string(Language l);

struct Instance {
  std::string name;
  std::string public_url;
  std::filesystem::path data_dir;
  std::vector<Language> languages;
  Language default_language = Language::fi;
};

enum class ListenerRole { inbound, submission };
const char* to_string(ListenerRole r);

struct ListenerAuth {
  std::filesystem::path users_file;  // user names and argon2id hashes
};

struct Listener {
  std::string name;
  ListenAddress address;
  ListenerRole role = ListenerRole::inbound;
  std::vector<std::string> domains;  // inbound: domains accepted besides team addresses
  std::optional<TlsFiles> tls;
  bool require_tls = false;
  std::optional<ListenerAuth> auth;
  std::vector<IpNetwork> allowed_networks;
  std::uint64_t max_message_size = 0;
  std::uint32_t max_recipients = 0;
  std::uint32_t max_errors = 0;
  std::uint32_t max_connections = 0;
  Duration command_timeout{};
  Duration session_timeout{};
  Location where;
};

struct Portal {
  ListenAddress address;
  TlsFiles tls;
  Duration session_idle{};
  Duration session_absolute{};
  Duration handshake_timeout{};  // the TLS handshake of a new connection
  Duration request_timeout{};    // a request's head (the keep-alive wait included); each pause in its body
  Duration write_timeout{};      // each write to the client: a response, a download's head or piece
  std::uint64_t max_header_size = 0;
  std::uint64_t max_body_size = 0;
};

struct Admin {
  ListenAddress address;
};

enum class StorageBackend { sqlite, postgresql };
struct Storage {
  StorageBackend backend = StorageBackend::sqlite;
  std::filesystem::path sqlite_path;
  std::optional<Secret> postgresql_dsn;
  std::uint32_t postgresql_pool_size = 0;
};

struct Keys {
  std::filesystem::path dir;
  bool create_if_missing = false;  // serve creates a new key ring when dir holds none (development)
};

enum class RelayTls { require, opportunistic, none };
const char* to_string(RelayTls t);

struct RelayAuth {
  std::string username;
  Secret password;
};

// RFC 5321 §4.5.3.2 client timeouts (connect: not in the RFC).
struct RelayTimeouts {
  Duration connect{30};
  Duration greeting{300};
  Duration command{300};
  Duration data_init{120};
  Duration data_block{180};
  Duration data_end{600};
};

// Connections kept open between deliveries (see smtp/client/smtp_transport.hpp).
struct RelayReuse {
  Duration idle{2};          // 0: a new connection per message
  std::uint32_t messages = 100;
  Duration lifetime{300};
};

struct Relay {
  std::string host;
  std::uint16_t port = 25;
  RelayTls tls = RelayTls::require;
  std::optional<std::filesystem::path> ca_file;
  std::optional<RelayAuth> auth;
  std::string helo_name;  // empty: this machine's host name
  RelayTimeouts timeouts;
  RelayReuse reuse;
};

struct Delivery {
  std::optional<std::filesystem::path> maildir;  // exactly one of maildir and relay
  std::optional<Relay> relay;
  Duration retry_initial{};
  Duration retry_max{};
  Duration lifetime{};
  std::uint32_t workers = 0;
};

struct Team {
  std::string id;
  std::map<Language, std::string> name;
  std::string address;  // public address at the gateway
  std::string mailbox;  // the real shared mailbox
  std::string staff_group;
  std::string lead_group;  // may release or reassign claims
  Location where;
};

// ---- routing -------------------------------------------------------------------------------------

enum class ProtectionLevel { letter, sms, personal };
const char* to_string(ProtectionLevel l);

struct AddressPattern {
  enum class Kind { exact, domain, glob, team };
  Kind kind = Kind::exact;
  std::string value;  // address, domain, glob, or team id ("any" for every team)
};

struct Condition {
  enum class Kind {
    always,      // `when: {}`
    all, any, not_,
    listener,    // listener names
    role,        // listener roles
    sender,      // envelope sender patterns
    recipient,   // envelope recipient patterns (the recipient being routed)
    marked,      // has a protection mark (or, with `flag` false, has none)
    header,      // header exists / value glob / value regex
    size,        // message size bounds
    attachment,  // some attachment with type / name / size
    detector,    // a content detector finds something
  };
  Kind kind = Kind::always;
  std::vector<Condition> children;           // all, any, not_ (one child)
  std::vector<std::string> names;            // listener, detector names; header name (one)
  std::vector<ListenerRole> roles;
  std::vector<AddressPattern> addresses;     // sender, recipient
  bool flag = true;                          // marked: true/false; header: exists
  std::optional<std::string> glob;           // header value glob
  std::optional<std::string> regex;          // header value regex
  std::vector<std::string> type_globs;       // attachment content types
  std::vector<std::string> name_globs;       // attachment file names
  std::optional<std::uint64_t> larger_than;  // size, attachment
  std::optional<std::uint64_t> smaller_than; // size
  Location where;
};

struct Action {
  enum class Kind { protect, forward, reject };
  Kind kind = Kind::reject;
  std::optional<ProtectionLevel> level;  // protect: nullopt = from the marks
  std::string team;                      // forward: team id, or "from_recipient"
  int code = 550;                        // reject
  std::string text;                      // reject
};

struct Rule {
  std::string name;
  Condition when;
  Action action;
  Location where;
};

struct DetectorDef {
  std::string name;
  std::vector<std::string> keywords;  // exactly one of keywords and regex
  std::optional<std::string> regex;
  bool case_sensitive = false;
  Location where;
};

struct Marks {
  bool address_suffix = true;
  std::vector<std::string> subject_tags;
  bool headers = true;
};

struct Routing {
  Marks marks;
  std::vector<DetectorDef> detectors;
  std::vector<Rule> rules;
};

// ---- unlock, sms, oidc, retention ------------------------------------------------------------------

struct PinPolicy {
  std::uint32_t length = 0;
  Duration ttl{};
  std::uint32_t max_attempts = 0;
  std::uint32_t max_per_hour = 0;
  std::uint32_t max_failures = 0;
};

struct Unlock {
  Duration link_ttl{};
  PinPolicy pin;
};

enum class SmsDriver { file, http };
enum class HttpAuthKind { none, basic, bearer };
enum class HttpBodyFormat { json, form };

struct SmsHttp {
  std::string url;
  std::string method;
  HttpAuthKind auth = HttpAuthKind::none;
  std::string username;             // basic
  std::optional<Secret> username_secret;  // basic, when the user name is itself a token (GatewayAPI)
  std::optional<Secret> password;   // basic
  std::optional<Secret> token;      // bearer
  HttpBodyFormat format = HttpBodyFormat::json;
  std::string body_template;        // JSON text (format json) or JSON object of form fields
  std::vector<int> success;         // HTTP status codes that mean "accepted"
  std::string message_id_pointer;   // RFC 6901 JSON pointer into the reply; empty: none
  std::vector<int> retry_on;        // status codes worth a retry (429, 5xx)
  std::uint32_t max_retries = 0;
  Duration timeout{};
  // Where `url`, `body` and `message_id` were written, for errors found when the driver is built
  // (sms::validate).
  Location url_where;
  Location body_where;
  Location message_id_where;
};

struct Sms {
  SmsDriver driver = SmsDriver::file;
  std::filesystem::path file_path;
  std::optional<SmsHttp> http;
  std::string sender;
  std::string default_country;  // digits, e.g. "358"
  // The PIN message per language, with placeholders {{pin}}, {{minutes}}, {{organisation}}; every
  // language is present (built-in defaults fill what the operator leaves out). Never message content.
  std::map<Language, std::string> text;
};

enum class ProviderKind { citizen, staff };
enum class ClientAuth { private_key_jwt, client_secret_basic, client_secret_post };

struct OidcProvider {
  std::string id;
  ProviderKind kind = ProviderKind::citizen;
  std::string issuer;
  std::string client_id;
  ClientAuth client_auth = ClientAuth::private_key_jwt;
  std::optional<Secret> client_secret;
  std::optional<std::filesystem::path> signing_key_file;
  std::optional<std::filesystem::path> encryption_key_file;
  std::vector<std::string> scopes;
  std::vector<std::string> acr_values;
  std::string identity_claim;
  std::string groups_claim;
  std::map<Language, std::string> name;
  Location where;
};

// Notification mails: what recipients and team mailboxes receive instead of the protected content.
struct Notifications {
  std::string from;                            // header From address; empty: noreply@ the public_url host
  std::string from_name;                       // display name; empty: instance.name
  std::string reply_domain;                    // domain of per-thread reply addresses; empty: from's domain
  bool include_subject = false;                // put the original subject into the notification
  std::optional<std::filesystem::path> templates_dir;  // operator templates overriding the built-in ones
};

struct Retention {
  Duration protected_messages{};
  Duration audit_log{};
  Duration interval{};  // how often serve's housekeeping runs retention
};

struct Config {
  std::string source_file;
  Instance instance;
  std::vector<Listener> listeners;
  Portal portal;
  std::optional<Admin> admin;
  Storage storage;
  Keys keys;
  Delivery delivery;
  std::vector<Team> teams;
  Routing routing;
  Unlock unlock;
  Sms sms;
  std::vector<OidcProvider> oidc_providers;
  Notifications notifications;
  Retention retention;

  const Team* find_team(std::string_view id) const;
  const Listener* find_listener(std::string_view name) const;
  // The host part of instance.public_url ("turvaposti.example.fi", "127.0.0.1", "[::1]").
  std::string public_host() const;
  // notifications.from, or noreply@ the public host.
  std::string notification_from() const;
  // notifications.reply_domain, or the domain of notification_from().
  std::string reply_domain() const;
};

// ---- loading ---------------------------------------------------------------------------------------

struct Diagnostic {
  Location where;
  std::string message;
  std::string str() const { return where.str() + ": " + message; }
};

struct LoadOptions {
  bool check_files = true;  // open referenced files and look up env: secrets
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when there are errors
  std::vector<Diagnostic> errors;        // every error found, in file order
};

LoadResult load_file(const std::filesystem::path& path, const LoadOptions& options = {});
LoadResult load_string(const std::string& yaml, const std::string& file_name, const LoadOptions& options = {});

// The configuration reference (Markdown), generated from the schema.
std::string reference_markdown();

// Reads a secret's value from its file (trailing newline removed) or environment variable.
Result<std::string> read_secret(const Secret& secret);

}  // namespace sinetti::config
