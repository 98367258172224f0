// `sinetti serve`: runs the gateway until SIGTERM/SIGINT; SIGHUP reloads the configuration.
#include "gateway/cli/commands.hpp"
#include "gateway/server/serve.hpp"

namespace sinetti::cli {

int serve(const std::filesystem::path& config) { return server::run_serve(config); }

}  // namespace sinetti::cli
