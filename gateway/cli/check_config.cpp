// `sinetti check-config`: validate a configuration file and compile its routing, printing every
// error as FILE:LINE:COL: message (like `postfix check` / `nginx -t`, usable as ExecStartPre=).
#include <iostream>

#include "config/config.hpp"
#include "gateway/cli/commands.hpp"
#include "gateway/routing/table.hpp"

namespace sinetti::cli {

int check_config(const std::filesystem::path& config, bool check_files) {
  const auto loaded = routing::load_and_compile(config, config::LoadOptions{check_files});
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) std::cerr << e.str() << "\n";
    std::cerr << config.string() << ": " << loaded.errors.size() << (loaded.errors.size() == 1 ? " error" : " errors") << "\n";
    return exit_problem;
  }
  const auto& c = *loaded.config;
  std::cout << config.string() << ": ok (" << c.listeners.size() << " listeners, " << c.teams.size() << " teams, "
            << c.routing.rules.size() << " rules" << (check_files ? "" : "; files not checked") << ")\n";
  return exit_ok;
}

int config_reference() {
  std::cout << config::reference_markdown();
  return exit_ok;
}

}  // namespace sinetti::cli
