// sinetti: the gateway's single binary — the server (`serve`) and the operator's commands.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "gateway/cli/commands.hpp"

namespace {

std::string default_config() {
  const char* env = std::getenv("SINETTI_CONFIG");
  return env != nullptr ? env : "/etc/sinetti/sinetti.yaml";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sinetti;
  CLI::App app{"Sinetti — secure messaging gateway"};
  app.require_subcommand(1);
  std::string config_path = default_config();
  auto add_config = [&](CLI::App* cmd) {
    cmd->add_option("--config,-c", config_path, "Configuration file (default $SINETTI_CONFIG or /etc/sinetti/sinetti.yaml)");
  };

  auto* serve = app.add_subcommand("serve", "Run the gateway");
  add_config(serve);

  auto* check = app.add_subcommand("check-config", "Validate the configuration; print every error as FILE:LINE:COL");
  add_config(check);
  bool skip_files = false;
  check->add_flag("--skip-file-checks", skip_files,
                  "Do not open referenced certificate, key and secret files or look up env: secrets "
                  "(to check a configuration away from its server)");

  auto* reference = app.add_subcommand("config-reference", "Print the configuration reference (Markdown)");
  add_config(reference);

  auto* route = app.add_subcommand("route", "Routing tools");
  route->require_subcommand(1);
  auto* explain = route->add_subcommand("explain", "Show how a message would be routed, rule by rule (no side effects)");
  add_config(explain);
  cli::ExplainOptions explain_options;
  std::string listener;
  explain->add_option("message", explain_options.message, "The message (RFC 5322 file, e.g. .eml)")->required();
  explain->add_option("--from", explain_options.sender, "Envelope sender (default: the null sender)");
  explain->add_option("--to", explain_options.recipients, "Envelope recipient (repeatable)")->required();
  explain->add_option("--listener", listener, "Listener the message arrives on (default: the first)");
  explain->add_flag("--json", explain_options.json, "JSON output");

  auto* keys = app.add_subcommand("keys", "Key ring: init, rotate [--rewrap], list");
  add_config(keys);
  keys->require_subcommand(1);
  bool rewrap = false;
  std::string keys_action;
  for (const char* a : {"init", "list"}) {
    keys->add_subcommand(a, std::string(a) == "init" ? "Create the key ring in keys.dir" : "List the key-encryption keys")
        ->callback([&keys_action, a] { keys_action = a; });
  }
  auto* rotate = keys->add_subcommand("rotate", "Make a new key-encryption key active (old ones stay for opening)");
  rotate->add_flag("--rewrap", rewrap, "Also rewrap every stored data key to the new key");
  rotate->callback([&keys_action] { keys_action = "rotate"; });

  std::string item_id;
  bool as_json = false;
  auto* queue = app.add_subcommand("queue", "Delivery queue: list, retry ID, drop ID");
  add_config(queue);
  queue->require_subcommand(1);
  std::string queue_action;
  auto* queue_list = queue->add_subcommand("list", "List queue entries");
  queue_list->add_flag("--json", as_json, "JSON lines");
  queue_list->callback([&queue_action] { queue_action = "list"; });
  for (const char* a : {"retry", "drop"}) {
    auto* sub = queue->add_subcommand(a, std::string(a) == "retry" ? "Make an entry due now" : "Stop delivering an entry");
    sub->add_option("id", item_id, "Queue entry id")->required();
    sub->callback([&queue_action, a] { queue_action = a; });
  }

  auto* message = app.add_subcommand("message", "Stored messages: status ID, revoke ID");
  add_config(message);
  message->require_subcommand(1);
  std::string message_action;
  auto* status = message->add_subcommand("status", "What happened to a message (notified, unlocked, delivered...)");
  status->add_option("id", item_id, "Message id")->required();
  status->add_flag("--json", as_json, "JSON output");
  status->callback([&message_action] { message_action = "status"; });
  auto* revoke = message->add_subcommand("revoke", "Destroy a message's content and data key now");
  revoke->add_option("id", item_id, "Message id")->required();
  revoke->callback([&message_action] { message_action = "revoke"; });

  auto* audit = app.add_subcommand("audit", "Audit log: verify the hash chain, export JSON lines");
  add_config(audit);
  audit->require_subcommand(1);
  std::string audit_action;
  audit->add_subcommand("verify", "Check the whole hash chain; names the first bad record")
      ->callback([&audit_action] { audit_action = "verify"; });
  audit->add_subcommand("export", "Write every record as a JSON line")->callback([&audit_action] { audit_action = "export"; });

  auto* purge = app.add_subcommand("purge", "Run retention now (expired messages are crypto-shredded)");
  add_config(purge);

  // `sinetti keys init --config F` and `sinetti keys --config F init` both work.
  for (auto* parent : {keys, queue, message, audit}) {
    for (auto* sub : parent->get_subcommands({})) sub->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? cli::exit_ok : cli::exit_usage;
  }

  try {
    if (*serve) return cli::serve(config_path);
    if (*check) return cli::check_config(config_path, !skip_files);
    if (*reference) return cli::config_reference();
    if (*keys) return cli::keys(config_path, keys_action, rewrap);
    if (*queue) return cli::queue(config_path, queue_action, item_id, as_json);
    if (*message) return cli::message(config_path, message_action, item_id, as_json);
    if (*audit) return cli::audit(config_path, audit_action);
    if (*purge) return cli::purge(config_path);
    if (*explain) {
      if (!listener.empty()) explain_options.listener = listener;
      return cli::route_explain(config_path, explain_options);
    }
  } catch (const std::exception& e) {
    std::cerr << "sinetti: " << e.what() << "\n";
    return cli::exit_problem;
  }
  return cli::exit_usage;
}
