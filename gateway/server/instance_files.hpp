// What a configuration needs on disk before the gateway serves: the data directory (0700) and the
// self-signed TLS pairs that `tls: {self_signed: true}` asks for. Run at start and on every reload.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "gateway/log.hpp"
#include "sinetti/result.hpp"

namespace sinetti::server {

// Creates instance.data_dir (missing components 0700) and every missing self-signed pair; logs one
// line per thing created. Returns a one-line reason on failure.
std::optional<Error> prepare_instance_files(const config::Config& config, const log::Logger& logger);

// The subjectAltName entries for a self-signed certificate: localhost, 127.0.0.1, ::1, the host of
// instance.public_url, and each specific (not wildcard) listener and portal address.
std::vector<std::string> self_signed_names(const config::Config& config);

// The host of an http(s) URL, without brackets or port; empty if there is none.
std::string url_host(std::string_view url);

// The certificate's common name: public_url's host when it fits in a CN (64 octets), else localhost.
std::string self_signed_common_name(const config::Config& config);

}  // namespace sinetti::server
