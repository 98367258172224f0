#include "provider_server.hpp"

// Boost 1.74's asio/awaitable.hpp needs <utility> first (REFERENCES "Toolchain notes").
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>

namespace sinetti::sms::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Coroutines hold a plain pointer: the state outlives them (io is destroyed last, with their frames).
struct ProviderServer::State {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::optional<asio::ssl::context> tls;
  std::vector<ScriptedReply> script;
  mutable std::mutex mutex;
  std::vector<RecordedRequest> requests;
  std::thread thread;
};

namespace {

using State = ProviderServer::State;

template <typename Stream>
asio::awaitable<void> exchange(State* state, Stream& stream) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request<http::string_body> request;
    co_await http::async_read(stream, buffer, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    ScriptedReply reply;
    {
      std::lock_guard lock(state->mutex);
      state->requests.push_back(RecordedRequest{std::string(request.method_string()), std::string(request.target()),
                                                std::string(request[http::field::content_type]),
                                                std::string(request[http::field::authorization]), request.body()});
      reply = state->script.at(std::min(state->requests.size(), state->script.size()) - 1);
    }
    if (reply.delay.count() > 0) {
      asio::steady_timer timer(stream.get_executor(), reply.delay);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
    response.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : reply.headers) response.set(name, value);
    response.body() = reply.body;
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !response.keep_alive()) co_return;
  }
}

asio::awaitable<void> connection(State* state, tcp::socket socket) {
  if (state->tls) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *state->tls);
    beast::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // e.g. the client refused our certificate
    co_await exchange(state, stream);
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await exchange(state, socket);
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }
}

asio::awaitable<void> accept_loop(State* state) {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(state->io, connection(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

ProviderServer::ProviderServer(std::vector<ScriptedReply> script, std::optional<TlsFiles> tls)
    : state_(std::make_unique<State>()) {
  if (script.empty()) script.push_back(ScriptedReply{});
  state_->script = std::move(script);
  if (tls) {
    auto& ctx = state_->tls.emplace(asio::ssl::context::tls_server);
    ctx.use_certificate_chain_file(tls->cert.string());
    ctx.use_private_key_file(tls->key.string(), asio::ssl::context::pem);
  }
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  asio::co_spawn(state_->io, accept_loop(state_.get()), asio::detached);
  state_->thread = std::thread([state = state_.get()] { state->io.run(); });
}

ProviderServer::~ProviderServer() {
  state_->io.stop();
  state_->thread.join();
}

std::uint16_t ProviderServer::port() const { return state_->acceptor.local_endpoint().port(); }

std::string ProviderServer::url(std::string_view path) const {
  return std::string(state_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) + std::string(path);
}

std::vector<RecordedRequest> ProviderServer::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();  // closed when `acceptor` goes out of scope
}

std::string base64(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += alphabet[(v >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body) {
  const auto decode = [](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> fields;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const auto pair = body.substr(0, amp);
    const auto eq = pair.find('=');
    fields.emplace_back(decode(pair.substr(0, eq)), eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return fields;
}

}  // namespace sinetti::sms::test
