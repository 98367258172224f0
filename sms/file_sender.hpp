// FileSmsSender (driver `file`): appends each message as one JSON line
// {"to": "+358401234567", "text": "...", "ts": "2026-12-01T19:00:00.000Z", "ref": "..."} to a file
// (DESIGN.md "SMS file driver"), for development and for end-to-end tests that read the PIN back.
// The file is created 0600 (it holds PINs) and a symbolic link in its place is refused; each line is
// one write(2) on an O_APPEND descriptor, then fsync, so concurrent senders — threads or processes —
// never interleave lines.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "sinetti/clock.hpp"
#include "sinetti/result.hpp"
#include "sms/sender.hpp"

namespace sinetti::sms {

class FileSmsSender final : public SmsSender {
 public:
  // Checks that the file can be opened for appending (creating it 0600 if missing); its directory
  // must exist. `clock` gives the "ts" of each line and must outlive the sender.
  static Result<std::unique_ptr<FileSmsSender>> open(std::filesystem::path path, const Clock& clock);

  // Opens the file for each message, so a file removed or rotated meanwhile is created again.
  SmsResult send(const SmsMessage& message) override;
  std::string_view name() const override { return "file"; }

  const std::filesystem::path& path() const { return path_; }

 private:
  FileSmsSender(std::filesystem::path path, const Clock& clock) : path_(std::move(path)), clock_(clock) {}

  std::filesystem::path path_;
  const Clock& clock_;
};

// One JSON line (with its trailing '\n') as FileSmsSender writes it; ts in UTC with milliseconds.
std::string file_sms_line(const SmsMessage& message, std::chrono::system_clock::time_point ts);

// "2026-12-01T19:00:00.000Z".
std::string utc_timestamp(std::chrono::system_clock::time_point ts);

}  // namespace sinetti::sms
