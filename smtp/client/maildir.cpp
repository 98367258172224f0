#include "smtp/client/maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

#include "crypto/random.hpp"
#include "sinetti/blocking.hpp"

namespace sinetti::smtp::client {

namespace fs = std::filesystem;

namespace {

// A failed step: which, and errno.
struct Failure {
  std::string step;
  int error = 0;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // close(2) reports write-back errors on some file systems; keep them.
  int close_checked() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_ = -1;
};

std::optional<Failure> ensure_dir(const fs::path& p) {
  if (::mkdir(p.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return Failure{"stat " + p.string(), errno};
    if (!S_ISDIR(st.st_mode)) return Failure{p.string() + " is not a directory", ENOTDIR};
    return std::nullopt;
  }
  return Failure{"mkdir " + p.string(), errno};
}

std::optional<Failure> write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Failure{"write", errno};
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

std::optional<Failure> fsync_dir(const fs::path& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0) return Failure{"open " + dir.string(), errno};
  const Waiting waiting;
  if (::fsync(d.get()) != 0) return Failure{"fsync " + dir.string(), errno};
  return std::nullopt;
}

// The host part of a Maildir name: "/" and ":" would break it (the spec's \057 and \072).
std::string host_part() {
  std::array<char, HOST_NAME_MAX + 1> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string out;
  for (const char* c = buf.data(); *c != '\0'; ++c) {
    if (*c == '/') out += "\\057";
    else if (*c == ':') out += "\\072";
    else out += *c;
  }
  return out;
}

std::string unique_name(const Clock& clock) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  std::array<std::uint8_t, 8> random{};
  crypto::random_bytes(random);
  static constexpr char hex[] = "0123456789abcdef";
  std::string r;
  for (auto b : random) {
    r += hex[b >> 4];
    r += hex[b & 15];
  }
  return std::to_string(secs) + "." + std::to_string(::getpid()) + "_" + r + "." + host_part();
}

}  // namespace

MaildirTransport::MaildirTransport(fs::path dir, const Clock& clock, BlockingRunner run_blocking)
    : dir_(std::move(dir)), clock_(clock), run_blocking_(std::move(run_blocking)) {}

asio::awaitable<void> MaildirTransport::blocking(std::function<void()> work) {
  if (run_blocking_) co_await run_blocking_(std::move(work));
  else work();
}

asio::awaitable<DeliveryResult> MaildirTransport::deliver(const Envelope& envelope, BodySource& body) {
  const auto strand = asio::make_strand(co_await asio::this_coro::executor);
  co_return co_await asio::co_spawn(strand, deliver_on_strand(envelope, body), asio::use_awaitable);
}

asio::awaitable<DeliveryResult> MaildirTransport::deliver_on_strand(const Envelope& envelope, BodySource& body) {
  DeliveryResult result;
  result.remote = dir_.string();
  result.tls = "none";
  // The addresses go into header lines: a line break would add headers of its own.
  auto has_control = [](const std::string& a) {
    return std::any_of(a.begin(), a.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  };
  if (has_control(envelope.sender) ||
      std::any_of(envelope.recipients.begin(), envelope.recipients.end(), has_control)) {
    for (const auto& r : envelope.recipients) {
      result.recipients.push_back(RecipientOutcome{r, Outcome::failed, "5.1.3", 0, "bad address syntax"});
    }
    co_return result;
  }
  const std::string name = unique_name(clock_);
  const fs::path tmp = dir_ / "tmp" / name;
  const fs::path final_path = dir_ / "new" / name;

  Fd fd;
  std::optional<Failure> failure;
  bool created = false;
  std::optional<std::string> body_error;

  // The work that blocks runs through `blocking`; the lambdas only touch this frame's locals, and
  // `blocking` returns after they have finished.
  auto step = [&](std::function<void()> work) -> asio::awaitable<void> {
    if (failure) co_return;
    try {
      co_await blocking(std::move(work));
    } catch (const std::exception& e) {  // the pool is stopping
      failure = Failure{std::string("blocking work: ") + e.what(), 0};
    }
  };

  co_await step([&] {
    for (const auto& d : {dir_, dir_ / "tmp", dir_ / "new", dir_ / "cur"}) {
      if ((failure = ensure_dir(d))) return;
    }
    fd.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) failure = Failure{"open " + tmp.string(), errno};
    else created = true;
  });

  std::string batch = "Return-Path: <" + envelope.sender + ">\r\n";
  for (const auto& r : envelope.recipients) batch += "Delivered-To: " + r + "\r\n";
  while (!failure && !body_error) {
    auto piece = co_await body.next();
    if (!piece) {
      body_error = piece.error().message;
      break;
    }
    const bool end = !*piece;
    if (!end) batch.append(**piece);
    if (batch.size() >= write_batch || end) {
      co_await step([&] { failure = write_all(fd.get(), batch); });
      batch.clear();
    }
    if (end) break;
  }

  if (!body_error) {
    co_await step([&] {
      const Waiting waiting;
      if (::fsync(fd.get()) != 0) {
        failure = Failure{"fsync", errno};
        return;
      }
      if (fd.close_checked() != 0) {
        failure = Failure{"close", errno};
        return;
      }
      if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
        failure = Failure{"rename into new/", errno};
        return;
      }
      created = false;
      failure = fsync_dir(dir_ / "new");
    });
  }

  if (created) {  // failed after the file was made: remove it (one unlink, on the rare path)
    fd.reset();
    ::unlink(tmp.c_str());
  }

  for (const auto& r : envelope.recipients) {
    RecipientOutcome o{r, Outcome::delivered, "2.0.0", 0, "saved as " + (fs::path("new") / name).string()};
    if (body_error) {
      o = RecipientOutcome{r, Outcome::deferred, "4.3.0", 0, "reading the message failed: " + *body_error};
    } else if (failure) {
      const bool full = failure->error == ENOSPC || failure->error == EDQUOT;
      std::string why = "maildir " + dir_.string() + ": " + failure->step;
      if (failure->error != 0) why += ": " + std::string(std::strerror(failure->error));
      o = RecipientOutcome{r, Outcome::deferred, full ? "4.3.1" : "4.3.0", 0, why};
    }
    result.recipients.push_back(std::move(o));
  }
  co_return result;
}

}  // namespace sinetti::smtp::client
