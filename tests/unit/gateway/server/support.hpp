// Helpers for the server tests: a temporary directory, a configuration file in it, a log that the
// test can read, and a small HTTP client (loopback only) with deadlines.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "gateway/log.hpp"
#include "gateway/server/asio.hpp"

namespace sinetti::server::test {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sinetti-server-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A valid configuration with state under `dir`, the admin listener on 127.0.0.1:`admin_port`, and a
// self-signed portal certificate.
inline std::string test_config(const fs::path& dir, int admin_port = 0, const std::string& extra = "") {
  const auto var = (dir / "var").string();
  return "instance:\n"
         "  name: Test\n"
         "  public_url: \"https://turvaposti.example.fi\"\n"
         "  data_dir: " + var + "\n"
         "listeners:\n"
         "  - name: inbound\n"
         "    address: \"127.0.0.1:2525\"\n"
         "    role: inbound\n"
         "portal:\n"
         "  address: \"127.0.0.1:8443\"\n"
         "  tls: {cert_file: " + var + "/tls/cert.pem, key_file: " + var + "/tls/key.pem, self_signed: true}\n"
         "admin:\n"
         "  address: \"127.0.0.1:" + std::to_string(admin_port) + "\"\n"
         "delivery:\n"
         "  transport: \"maildir:" + var + "/mail\"\n"
         "teams:\n"
         "  - id: neuvonta\n"
         "    name: {fi: Neuvonta, sv: Rådgivning, en: Advice}\n"
         "    address: neuvonta@example.fi\n"
         "    mailbox: neuvonta@intra.example.fi\n"
         "routing:\n"
         "  rules:\n"
         "    - name: enquiries\n"
         "      when: {recipient: {team: any}}\n"
         "      action: {forward: {team: from_recipient}}\n"
         "    - name: rest\n"
         "      action: {reject: {code: 550, text: \"5.1.1 No\"}}\n" +
         extra;
}

inline void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  BOOST_REQUIRE(out.good());
}

// A Logger whose lines the test reads.
class CapturedLog {
 public:
  CapturedLog()
      : logger_([this](std::string_view line) {
          std::lock_guard lock(mutex_);
          lines_.emplace_back(line);
        }) {}
  const log::Logger& logger() const { return logger_; }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  // Lines whose "event" is `event`.
  std::vector<std::string> events(const std::string& event) const {
    std::vector<std::string> out;
    for (const auto& l : lines()) {
      if (l.find("\"event\":\"" + event + "\"") != std::string::npos) out.push_back(l);
    }
    return out;
  }
  std::string all() const {
    std::string out;
    for (const auto& l : lines()) out += l;
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  log::Logger logger_;
};

// Polls `done` until it holds or `limit` passes (a bound against hanging, not a timing assertion).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string allow;
  bool keep_alive = false;
};

// One request on a new connection; every step has a 5 s deadline. `raw` replaces the request.
inline HttpReply http_request(const asio::ip::tcp::endpoint& endpoint, boost::beast::http::verb method, std::string target,
                              std::string raw = "") {
  namespace beast = boost::beast;
  namespace http = boost::beast::http;
  asio::io_context io;
  HttpReply reply;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        beast::tcp_stream stream(co_await asio::this_coro::executor);
        stream.expires_after(std::chrono::seconds(5));
        co_await stream.async_connect(endpoint, asio::use_awaitable);
        if (raw.empty()) {
          http::request<http::empty_body> req{method, target, 11};
          req.set(http::field::host, "127.0.0.1");
          co_await http::async_write(stream, req, asio::use_awaitable);
        } else {
          co_await asio::async_write(stream, asio::buffer(raw), asio::use_awaitable);
        }
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        reply.status = static_cast<int>(res.result_int());
        reply.body = res.body();
        reply.content_type = std::string(res[http::field::content_type]);
        reply.allow = std::string(res[http::field::allow]);
        reply.keep_alive = res.keep_alive();
      },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return reply;
}

inline HttpReply http_get(const asio::ip::tcp::endpoint& endpoint, std::string target) {
  return http_request(endpoint, boost::beast::http::verb::get, std::move(target));
}

}  // namespace sinetti::server::test
