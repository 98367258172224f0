// `sinetti serve`: load the configuration, start the Server, run until SIGTERM/SIGINT.
#pragma once

#include <filesystem>

namespace sinetti::server {

// Returns the process exit code: 0 after a clean stop; 1 if the configuration is invalid (each error
// as FILE:LINE:COL: message on stderr, then one summary line) or the server cannot start (one line,
// e.g. "sinetti: admin: cannot listen on 127.0.0.1:9090: Address already in use"). Events while
// running go to stderr as JSON lines (gateway/log.hpp).
int run_serve(const std::filesystem::path& config_path);

}  // namespace sinetti::server
