// Helpers for the SMTP listener tests: a listener on 127.0.0.1:0 run by two I/O threads, fakes of the
// sink, policy, authenticator and observer, and a blocking SMTP client (POSIX socket + OpenSSL) whose
// every read is bounded by a receive timeout so a broken server fails the test instead of hanging it.
#pragma once

#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/tls_context.hpp"
#include "crypto/tls_files.hpp"
#include "sinetti/clock.hpp"
#include "smtp/server/listener.hpp"

namespace sinetti::smtp::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sinetti-smtp-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Polls `done` until it holds or `limit` passes (a bound against hanging, not a timing assertion).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// 64-bit FNV-1a, fed piece by piece: the same value however the bytes are split.
struct Fnv {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  }
};

// ---- fakes ---------------------------------------------------------------------------------------

struct SinkRecord {
  SessionInfo info;
  Envelope envelope;
  std::string data;  // kept when FakeSinks::keep_data
  std::uint64_t bytes = 0;
  Fnv hash;
  std::size_t pieces = 0;
  std::size_t biggest_piece = 0;
  bool ended = false;
  bool aborted = false;
};

class FakeSinks final : public MessageSinkFactory {
 public:
  bool keep_data = true;
  bool yield_on_data = false;           // every data() resumes later, as a real sink writing to disk
  std::optional<Reply> refuse_at_begin;
  Reply end_reply{250, "2.0.0", {"Ok: queued as TEST"}};

  std::unique_ptr<MessageSink> open(const SessionInfo&) override;

  std::vector<SinkRecord> records() const {
    std::lock_guard lock(mutex_);
    std::vector<SinkRecord> out;
    for (const auto& r : records_) out.push_back(*r);
    return out;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }

 private:
  friend class FakeSink;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<SinkRecord>> records_;
};

class FakeSink final : public MessageSink {
 public:
  FakeSink(FakeSinks& owner, std::shared_ptr<SinkRecord> record) : owner_(owner), record_(std::move(record)) {}
  asio::awaitable<std::optional<Reply>> begin(const SessionInfo& session, const Envelope& envelope) override {
    std::lock_guard lock(owner_.mutex_);
    record_->info = session;
    record_->envelope = envelope;
    co_return owner_.refuse_at_begin;
  }
  asio::awaitable<void> data(std::string_view piece) override {
    {
      std::lock_guard lock(owner_.mutex_);
      if (owner_.keep_data) record_->data.append(piece);
      record_->bytes += piece.size();
      record_->hash.add(piece);
      ++record_->pieces;
      record_->biggest_piece = std::max(record_->biggest_piece, piece.size());
    }
    if (owner_.yield_on_data) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }
  asio::awaitable<Reply> end() override {
    std::lock_guard lock(owner_.mutex_);
    record_->ended = true;
    co_return owner_.end_reply;
  }
  void abort() noexcept override {
    std::lock_guard lock(owner_.mutex_);
    record_->aborted = true;
  }

 private:
  FakeSinks& owner_;
  std::shared_ptr<SinkRecord> record_;
};

inline std::unique_ptr<MessageSink> FakeSinks::open(const SessionInfo&) {
  auto record = std::make_shared<SinkRecord>();
  std::lock_guard lock(mutex_);
  records_.push_back(record);
  return std::make_unique<FakeSink>(*this, record);
}

// Accepts recipients @example.fi, or anyone once authenticated; refuses one sender.
class FakePolicy final : public RecipientPolicy {
 public:
  std::optional<Reply> check_sender(const SessionInfo&, std::string_view address) const override {
    if (address == "blocked@example.com") return Reply{550, "5.7.1", {"Sender refused"}};
    return std::nullopt;
  }
  std::optional<Reply> check_recipient(const SessionInfo& s, std::string_view address) const override {
    if (address.ends_with("@example.fi") || s.auth_user) return std::nullopt;
    return Reply{550, "5.7.1", {"Relaying denied"}};
  }
};

// alice / secret; resumes on the caller's executor after a hop, as a worker-pool check would.
class FakeAuthenticator final : public Authenticator {
 public:
  asio::awaitable<bool> verify(std::string user, std::string password) override {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return user == "alice" && password == "secret";
  }
};

class FakeObserver final : public ListenerObserver {
 public:
  struct Ended {
    SessionInfo info;
    SessionSummary summary;
  };
  void connection_refused(const asio::ip::tcp::endpoint&, Refusal why) override {
    std::lock_guard lock(mutex_);
    refused.push_back(why);
  }
  void session_started(const SessionInfo& s) override {
    std::lock_guard lock(mutex_);
    started.push_back(s);
  }
  void tls_started(const SessionInfo& s) override {
    std::lock_guard lock(mutex_);
    tls.push_back(s);
  }
  void tls_failed(const SessionInfo&, std::string_view reason) override {
    std::lock_guard lock(mutex_);
    tls_failures.emplace_back(reason);
  }
  void auth_result(const SessionInfo&, std::string_view user, bool ok) override {
    std::lock_guard lock(mutex_);
    auths.emplace_back(std::string(user), ok);
  }
  void message(const SessionInfo&, const MessageOutcome& outcome) override {
    std::lock_guard lock(mutex_);
    messages.push_back({outcome.code, std::string(outcome.enhanced), outcome.bytes, outcome.recipients, outcome.refused_while_arriving});
  }
  void session_ended(const SessionInfo& s, const SessionSummary& summary) override {
    std::lock_guard lock(mutex_);
    ended.push_back({s, summary});
  }
  void internal_error(std::string_view where, std::string_view what) override {
    std::lock_guard lock(mutex_);
    errors.push_back(std::string(where) + ": " + std::string(what));
  }

  template <typename F>
  auto with(F f) const {
    std::lock_guard lock(mutex_);
    return f(*this);
  }
  std::size_t ended_count() const {
    return with([](const FakeObserver& o) { return o.ended.size(); });
  }
  std::vector<SessionEnd> end_reasons() const {
    return with([](const FakeObserver& o) {
      std::vector<SessionEnd> out;
      for (const auto& e : o.ended) out.push_back(e.summary.end);
      return out;
    });
  }

  struct Message {
    int code;
    std::string enhanced;
    std::uint64_t bytes;
    std::size_t recipients;
    bool refused_while_arriving;
  };
  std::vector<Refusal> refused;
  std::vector<SessionInfo> started;
  std::vector<SessionInfo> tls;
  std::vector<std::string> tls_failures;
  std::vector<std::pair<std::string, bool>> auths;
  std::vector<Message> messages;
  std::vector<Ended> ended;
  std::vector<std::string> errors;

 private:
  mutable std::mutex mutex_;
};

// ---- the listener under test ----------------------------------------------------------------------

// A self-signed pair for localhost, made once per test process.
inline std::shared_ptr<crypto::ServerTlsContext> test_tls() {
  static TempDir dir;
  static std::shared_ptr<crypto::ServerTlsContext> holder = [] {
    const auto cert = dir.path / "cert.pem", key = dir.path / "key.pem";
    auto made = crypto::ensure_self_signed(cert, key, "localhost", {});
    BOOST_REQUIRE(made);
    auto loaded = crypto::ServerTlsContext::load(cert, key);
    BOOST_REQUIRE(loaded);
    return *loaded;
  }();
  return holder;
}

inline ListenerSettings test_settings() {
  ListenerSettings s;
  s.name = "test";
  s.hostname = "gw.example.fi";
  s.command_timeout = 10s;
  s.session_timeout = 60s;
  return s;
}

class Harness {
 public:
  explicit Harness(ListenerSettings settings = test_settings(), bool tls = true, bool auth = false) {
    auto setup = std::make_shared<ListenerSetup>();
    setup->settings = std::move(settings);
    if (tls) setup->tls = test_tls();
    if (auth) setup->authenticator = std::make_shared<FakeAuthenticator>();
    setup->policy = std::make_shared<FakePolicy>();
    setup->sinks = sinks;
    listener = std::make_unique<Listener>(io, setup, observer, clock);
    const auto failed = listener->listen(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    BOOST_REQUIRE_MESSAGE(!failed, (failed ? failed->message : ""));
    work.emplace(io.get_executor());
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Harness() {
    listener->cancel();
    BOOST_CHECK(eventually([this] { return listener->active() == 0; }));
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    listener.reset();
    BOOST_CHECK(observer.with([](const FakeObserver& o) { return o.errors.empty(); }));
  }
  std::uint16_t port() const { return listener->local_endpoint().port(); }

  asio::io_context io;
  SystemClock clock;
  FakeObserver observer;
  std::shared_ptr<FakeSinks> sinks = std::make_shared<FakeSinks>();
  std::unique_ptr<Listener> listener;

 private:
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

// ---- a blocking client ----------------------------------------------------------------------------

class Client {
 public:
  explicit Client(std::uint16_t port, std::chrono::milliseconds timeout = 10s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(fd_ >= 0);
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  // Sends everything; false if the connection failed (or the send timeout passed).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const long n = ssl_ != nullptr ? SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)))
                                     : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // One whole reply (every line up to the one with a space after the code); "" if the connection
  // closed or the receive timeout passed first.
  std::string reply() {
    for (;;) {
      std::size_t start = 0;
      for (std::size_t eol; (eol = buffer_.find("\r\n", start)) != std::string::npos; start = eol + 2) {
        if (eol - start >= 4 && buffer_[start + 3] == ' ') {
          std::string out = buffer_.substr(0, eol + 2);
          buffer_.erase(0, eol + 2);
          return out;
        }
        if (eol - start == 3) {  // "250\r\n"
          std::string out = buffer_.substr(0, eol + 2);
          buffer_.erase(0, eol + 2);
          return out;
        }
      }
      if (!fill()) return "";
    }
  }

  // Sends `command` and returns its reply.
  std::string command(const std::string& command) {
    BOOST_REQUIRE(send(command + "\r\n"));
    return reply();
  }

  // True once the server has closed the connection (EOF or reset) and sent nothing more.
  bool closed_by_server() {
    const bool more = fill();
    return !more && buffer_.empty() && !timed_out_;
  }

  // The TLS client handshake on this connection (trusting any certificate: the tests check our
  // server, not the certificate). Bytes already buffered in plaintext are an error here.
  bool start_tls() {
    if (!buffer_.empty()) return false;
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    const bool ok = SSL_connect(ssl_) == 1;
    ERR_clear_error();
    return ok;
  }
  std::string tls_version() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

 private:
  bool fill() {
    char chunk[16384];
    timed_out_ = false;
    long n = 0;
    if (ssl_ != nullptr) {
      n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n <= 0) {
        const int err = SSL_get_error(ssl_, static_cast<int>(n));
        timed_out_ = err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK);
        ERR_clear_error();
        return false;
      }
    } else {
      n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0) timed_out_ = errno == EAGAIN || errno == EWOULDBLOCK;
      if (n <= 0) return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

inline std::string base64(const std::string& raw) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    const unsigned n = static_cast<unsigned>(static_cast<unsigned char>(raw[i])) << 16 |
                       static_cast<unsigned>(static_cast<unsigned char>(raw[i + 1])) << 8 |
                       static_cast<unsigned char>(raw[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += table[(n >> s) & 63];
  }
  if (const std::size_t rest = raw.size() - i; rest > 0) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(raw[i])) << 16;
    if (rest == 2) n |= static_cast<unsigned>(static_cast<unsigned char>(raw[i + 1])) << 8;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += rest == 2 ? table[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The AUTH PLAIN initial response (RFC 4616) for `user` and `password`.
inline std::string plain_auth(const std::string& user, const std::string& password) {
  return base64(std::string(1, '\0') + user + std::string(1, '\0') + password);
}

}  // namespace sinetti::smtp::test
