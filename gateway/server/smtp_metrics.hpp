// Counters of the SMTP listeners for /metrics (Prometheus text format, names after postfix_exporter's;
// REFERENCES "Operators' habits"). One set per configured listener, fixed at start; increments are
// lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sinetti::server {

class SmtpMetrics {
 public:
  struct Counters {
    std::atomic<std::uint64_t> sessions{0};
    std::atomic<std::int64_t> active{0};
    std::atomic<std::uint64_t> refused_network{0};
    std::atomic<std::uint64_t> refused_max_connections{0};
    std::atomic<std::uint64_t> messages_accepted{0};    // 2xx after DATA
    std::atomic<std::uint64_t> rejected_temporary{0};   // 4xx after DATA
    std::atomic<std::uint64_t> rejected_permanent{0};   // 5xx after DATA
    std::atomic<std::uint64_t> rejected_protocol{0};    // refused while arriving (size, bare LF, loop)
    std::atomic<std::uint64_t> auth_ok{0};
    std::atomic<std::uint64_t> auth_failed{0};
    std::atomic<std::uint64_t> tls_ok{0};
    std::atomic<std::uint64_t> tls_failed{0};
  };

  explicit SmtpMetrics(const std::vector<std::string>& listeners);

  // The counters of `listener`; listeners not named at construction share an "unknown" set.
  Counters& of(std::string_view listener);

  // The metric families, each once with a sample per listener.
  std::string render() const;

 private:
  std::map<std::string, std::unique_ptr<Counters>, std::less<>> listeners_;
  Counters unknown_;
};

}  // namespace sinetti::server
