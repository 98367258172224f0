#include "gateway/server/admin_handler.hpp"

namespace sinetti::server {
namespace {

// Prometheus text format: label values escape backslash, double quote and line feed.
std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

AdminResponse text(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::string admin_metrics(const AdminState& state) {
  std::string out;
  out += "# HELP sinetti_up Whether the gateway process is running.\n";
  out += "# TYPE sinetti_up gauge\n";
  out += "sinetti_up 1\n";
  out += "# HELP sinetti_ready Whether the gateway is serving (1) or starting or stopping (0).\n";
  out += "# TYPE sinetti_ready gauge\n";
  out += std::string("sinetti_ready ") + (state.started && !state.stopping ? "1" : "0") + "\n";
  out += "# HELP sinetti_build_info The running version.\n";
  out += "# TYPE sinetti_build_info gauge\n";
  out += "sinetti_build_info{version=\"" + label_value(state.version) + "\"} 1\n";
  out += "# HELP sinetti_config_reloads_total Configuration reloads (SIGHUP) by result.\n";
  out += "# TYPE sinetti_config_reloads_total counter\n";
  out += "sinetti_config_reloads_total{result=\"ok\"} " + std::to_string(state.config_reloads_ok) + "\n";
  out += "sinetti_config_reloads_total{result=\"error\"} " + std::to_string(state.config_reloads_error) + "\n";
  out += state.service_metrics;
  return out;
}

AdminResponse handle_admin(const AdminRequest& request, const AdminState& state) {
  if (request.method != "GET") {
    auto r = text(405, "method not allowed\n");
    r.allow = "GET";
    return r;
  }
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  if (path == "/healthz") return text(200, "ok\n");
  if (path == "/readyz") {
    if (state.stopping) return text(503, "stopping\n");
    if (!state.started) return text(503, "starting\n");
    return text(200, "ready\n");
  }
  if (path == "/metrics") {
    auto r = text(200, admin_metrics(state));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  return text(404, "not found\n");
}

AdminResponse admin_error(int status) {
  switch (status) {
    case 400: return text(400, "bad request\n");
    case 413: return text(413, "request body not allowed\n");
    case 431: return text(431, "request header fields too large\n");
    case 503: return text(503, "busy\n");
    default: return text(status, "error\n");
  }
}

}  // namespace sinetti::server
