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
