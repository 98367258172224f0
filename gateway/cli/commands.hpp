// The `sinetti` command line (DESIGN.md "External contract"): one function per command, each
// returning the process exit code — 0 success, 1 a problem the user can fix (one line on stderr),
// 2 usage.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sinetti::cli {

constexpr int exit_ok = 0;
constexpr int exit_problem = 1;
constexpr int exit_usage = 2;

int serve(const std::filesystem::path& config);
int check_config(const std::filesystem::path& config, bool check_files);
int config_reference();

struct ExplainOptions {
  std::filesystem::path message;
  std::string sender;
  std::vector<std::string> recipients;
  std::optional<std::string> listener;
  bool json = false;
};
int route_explain(const std::filesystem::path& config, const ExplainOptions& options);

// keys init | rotate [--rewrap] | list
int keys(const std::filesystem::path& config, const std::string& action, bool rewrap);
// queue list [--json] | retry ID | drop ID
int queue(const std::filesystem::path& config, const std::string& action, const std::string& id, bool json);
// message status ID [--json] | revoke ID
int message(const std::filesystem::path& config, const std::string& action, const std::string& id, bool json);
// audit verify | export
int audit(const std::filesystem::path& config, const std::string& action);
// purge: retention now (expired messages shredded, old queue entries, sessions, audit records)
int purge(const std::filesystem::path& config);

}  // namespace sinetti::cli
