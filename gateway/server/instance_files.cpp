#include "gateway/server/instance_files.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "crypto/tls_files.hpp"

namespace sinetti::server {
namespace {

namespace fs = std::filesystem;

bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Creates the missing components of `dir` with mode 0700. Returns whether it created any.
Result<bool> create_private_directories(const fs::path& dir) {
  bool created = false;
  fs::path current;
  for (const auto& part : dir) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) == 0) {
      ::chmod(current.c_str(), 0700);  // exact, whatever the umask
      created = true;
      continue;
    }
    const int err = errno;
    struct stat st {};
    if (err != EEXIST || ::stat(current.c_str(), &st) != 0) {
      return make_error("cannot create directory " + current.string() + ": " + std::strerror(err));
    }
    if (!S_ISDIR(st.st_mode)) return make_error(current.string() + " is not a directory");
  }
  return created;
}

}  // namespace

std::string url_host(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    return close == std::string_view::npos ? std::string() : std::string(rest.substr(1, close - 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

std::vector<std::string> self_signed_names(const config::Config& config) {
  std::vector<std::string> names = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  auto add = [&](const std::string& host) {
    if (host.empty() || host == "0.0.0.0" || host == "::") return;
    std::string name = (is_ip(host) ? "IP:" : "DNS:") + host;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  };
  add(url_host(config.instance.public_url));
  add(config.portal.address.host);
  for (const auto& l : config.listeners) add(l.address.host);
  return names;
}

std::string self_signed_common_name(const config::Config& config) {
  const std::string host = url_host(config.instance.public_url);
  return host.empty() || host.size() > 64 ? "localhost" : host;
}

std::optional<Error> prepare_instance_files(const config::Config& config, const log::Logger& logger) {
  const auto& data_dir = config.instance.data_dir;
  if (!data_dir.empty()) {
    const auto created = create_private_directories(data_dir);
    if (!created) return make_error("instance.data_dir: " + created.error().message);
    if (*created) logger.info("directory_created", {{"path", data_dir.string()}, {"mode", "0700"}});
  }

  // Each pair once, however many listeners share it (the development configuration shares one).
  std::vector<std::pair<std::string, const config::TlsFiles*>> wanted;
  for (const auto& l : config.listeners) {
    if (l.tls && l.tls->self_signed) wanted.emplace_back("listener '" + l.name + "'", &*l.tls);
  }
  if (config.portal.tls.self_signed) wanted.emplace_back("portal", &config.portal.tls);
  std::set<std::pair<fs::path, fs::path>> done;
  const auto names = self_signed_names(config);
  const auto common_name = self_signed_common_name(config);
  for (const auto& [owner, tls] : wanted) {
    if (!done.emplace(tls->cert_file, tls->key_file).second) continue;
    const auto made = crypto::ensure_self_signed(tls->cert_file, tls->key_file, common_name, names);
    if (!made) return make_error(owner + ": " + made.error().message);
    if (*made) {
      logger.info("tls_self_signed_created", {{"for", owner},
                                              {"cert_file", tls->cert_file.string()},
                                              {"key_file", tls->key_file.string()},
                                              {"common_name", common_name}});
    }
  }
  return std::nullopt;
}

}  // namespace sinetti::server
