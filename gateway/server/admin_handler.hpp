// The admin listener's request handling (/healthz, /readyz, /metrics), as a pure function of the
// request line and the server's state, so it is tested without sockets. Untrusted input: the method
// and target of requests from whoever can reach the admin address (keep it internal).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sinetti::server {

struct AdminRequest {
  std::string_view method;  // as sent, e.g. "GET"
  std::string_view target;  // origin-form, e.g. "/metrics" or "/readyz?verbose"
};

// What the admin endpoints report; the server fills one in for each request.
struct AdminState {
  bool started = false;   // listeners bound and serving
  bool stopping = false;  // graceful shutdown under way
  std::uint64_t config_reloads_ok = 0;
  std::uint64_t config_reloads_error = 0;
  std::string version;
  std::string service_metrics;  // further metric families from the services, in exposition format
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;  // the Allow header of a 405; empty otherwise
};

// GET /healthz → 200 "ok\n"; GET /readyz → 200 "ready\n" once started, 503 before and while
// stopping; GET /metrics → Prometheus text exposition format 0.0.4; other paths 404; methods other
// than GET 405 with Allow: GET. The query string is ignored.
AdminResponse handle_admin(const AdminRequest& request, const AdminState& state);

// A plain-text response for a request that could not be parsed (400, 413, 431, ...).
AdminResponse admin_error(int status);

// The /metrics body.
std::string admin_metrics(const AdminState& state);

}  // namespace sinetti::server
