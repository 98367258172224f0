// The gateway's event log: one JSON object per line on stderr (REFERENCES "Operators' habits"),
//   {"ts":"2025-11-24T11:08:00.123Z","level":"info","event":"listening","listener":"admin","address":"127.0.0.1:9090"}
// Callers pass identifiers and outcomes only — never message content, PINs, tokens, phone numbers,
// identity codes or keys (CONVENTIONS habit 9). Values are escaped, and invalid UTF-8 is replaced, so a
// line is always valid JSON whatever a field holds.
#pragma once

#include <unistd.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "sinetti/clock.hpp"

namespace sinetti::log {

enum class Level { debug, info, warning, error };

inline const char* to_string(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "info";
}

// Appends `text` as a JSON string (with quotes). Control characters are escaped; bytes that are not
// well-formed UTF-8 become U+FFFD.
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: lead byte, length, and the range the second byte must fall in (RFC 3629 §4).
    // (Excludes overlong forms, UTF-16 surrogates and code points above U+10FFFF.)
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    }
    bool ok = len != 0 && i + len <= n && s[i + 1] >= lo && s[i + 1] <= hi;
    for (std::size_t k = 2; ok && k < len; ++k) ok = s[i + k] >= 0x80 && s[i + k] <= 0xbf;
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  out += '"';
}

// RFC 3339 UTC with milliseconds: 2025-11-24T11:08:00.123Z. The date and time of the last second
// formatted on this thread are kept, so a busy server formats a calendar time once a second.
inline std::string format_timestamp(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<long long>(secs) * 1000);
  struct Second {
    bool valid = false;
    std::time_t secs = 0;
    char text[40] = {};
    std::size_t size = 0;
  };
  thread_local Second last;
  if (!last.valid || last.secs != secs) {
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    last.size = std::strftime(last.text, sizeof last.text, "%Y-%m-%dT%H:%M:%S", &tm);
    last.secs = secs;
    last.valid = true;
  }
  std::string out;
  out.reserve(last.size + 5);
  out.append(last.text, last.size);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
  return out;
}

// One key and its value, already encoded as JSON.
class Field {
 public:
  Field(std::string_view key, std::string_view value) : key_(key) { append_json_string(json_, value); }
  Field(std::string_view key, const std::string& value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, const char* value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, bool value) : key_(key), json_(value ? "true" : "false") {}
  template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  Field(std::string_view key, T value) : key_(key), json_(std::to_string(value)) {}

  std::string_view key() const { return key_; }
  const std::string& json() const { return json_; }

 private:
  std::string_view key_;
  std::string json_;
};

// Thread-safe: lines from concurrent callers never interleave.
class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;  // a whole line, '\n' included

  // Writes each line to stderr with one write(2), unbuffered.
  static Sink stderr_sink() {
    return [](std::string_view line) {
      while (!line.empty()) {
        const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
        if (n <= 0) return;  // nowhere left to report a failing stderr
        line.remove_prefix(static_cast<std::size_t>(n));
      }
    };
  }

  explicit Logger(Sink sink = stderr_sink(), const Clock* clock = nullptr, Level min_level = Level::info)
      : sink_(std::move(sink)), clock_(clock), min_level_(min_level) {}

  void write(Level level, std::string_view event, std::initializer_list<Field> fields = {}) const {
    if (level < min_level_) return;
    std::string line;
    line.reserve(128);
    line += "{\"ts\":\"";
    line += format_timestamp(clock_ != nullptr ? clock_->now() : std::chrono::system_clock::now());  // ASCII digits
    line += "\",\"level\":\"";
    line += to_string(level);
    line += "\",\"event\":";
    append_json_string(line, event);
    for (const auto& f : fields) {
      line += ',';
      append_json_string(line, f.key());
      line += ':';
      line += f.json();
    }
    line += "}\n";
    std::lock_guard lock(mutex_);
    sink_(line);
  }

  void debug(std::string_view event, std::initializer_list<Field> fields = {}) const { write(Level::debug, event, fields); }
  void info(std::string_view event, std::initializer_list<Field> fields = {}) const { write(Level::info, event, fields); }
  void warning(std::string_view event, std::initializer_list<Field> fields = {}) const { write(Level::warning, event, fields); }
  void error(std::string_view event, std::initializer_list<Field> fields = {}) const { write(Level::error, event, fields); }

 private:
  Sink sink_;
  const Clock* clock_;
  Level min_level_;
  mutable std::mutex mutex_;
};

}  // namespace sinetti::log
