#include "sms/file_sender.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "sinetti/blocking.hpp"

namespace sinetti::sms {

namespace {

// The descriptor of one append; closed on every path.
class AppendFile {
 public:
  explicit AppendFile(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {}
  ~AppendFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

std::string utc_timestamp(std::chrono::system_clock::time_point ts) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(ts.time_since_epoch()).count();
  auto seconds_part = static_cast<std::time_t>(ms / 1000);
  auto millis = static_cast<int>(ms % 1000);
  if (millis < 0) {  // before 1970: floor, not truncation
    millis += 1000;
    seconds_part -= 1;
  }
  std::tm tm{};
  ::gmtime_r(&seconds_part, &tm);
  char buf[40];
  const auto n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string file_sms_line(const SmsMessage& message, std::chrono::system_clock::time_point ts) {
  nlohmann::ordered_json line;
  line["to"] = message.to;
  line["text"] = message.text;
  line["ts"] = utc_timestamp(ts);
  line["ref"] = message.ref;
  // Invalid UTF-8 becomes U+FFFD rather than an exception; control characters are escaped, so a
  // text with newlines still takes exactly one line.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::unique_ptr<FileSmsSender>> FileSmsSender::open(std::filesystem::path path, const Clock& clock) {
  if (path.empty()) return make_error("sms.file.path is empty");
  {
    AppendFile file(path);
    if (file.fd() < 0) return make_error("cannot open " + path.string() + " for appending: " + errno_text(errno));
    struct stat st {};
    if (::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode)) return make_error(path.string() + " is not a regular file");
  }
  return std::unique_ptr<FileSmsSender>(new FileSmsSender(std::move(path), clock));
}

SmsResult FileSmsSender::send(const SmsMessage& message) {
  if (auto bad = check_message(message)) return *bad;
  const std::string line = file_sms_line(message, clock_.now());
  AppendFile file(path_);
  if (file.fd() < 0) return SmsFailed{"cannot open the SMS file: " + errno_text(errno), false};
  // One write(2) for the whole line: with O_APPEND the kernel places it at the end in one piece.
  const ssize_t written = ::write(file.fd(), line.data(), line.size());
  if (written < 0) return SmsFailed{"cannot write the SMS file: " + errno_text(errno), false};
  if (static_cast<std::size_t>(written) != line.size()) return SmsFailed{"short write to the SMS file (disk full?)", false};
  const Waiting waiting;
  if (::fsync(file.fd()) != 0) return SmsFailed{"cannot fsync the SMS file: " + errno_text(errno), false};
  return SmsAccepted{};
}

}  // namespace sinetti::sms
