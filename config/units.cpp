#include "config/units.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace sinetti::config {
namespace {

// Splits "25MiB" into 25 and "MiB"; fails on anything but digits then a unit.
Result<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text, const char* what) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return make_error(std::string("not a ") + what + ": expected a number followed by a unit");
  std::uint64_t n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + i, n);
  if (ec != std::errc{} || p != text.data() + i) return make_error(std::string(what) + " is too large");
  return std::pair{n, text.substr(i)};
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto split = split_number(text, "duration");
  if (!split) return split.error();
  const auto [n, unit] = *split;
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 6> units{{
      {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400}, {"y", 365 * 86400}}};
  if (unit.empty()) {
    if (n == 0) return Duration{0};
    return make_error("duration needs a unit: s, m, h, d, w or y (e.g. 10m, 30d)");
  }
  for (const auto& [name, seconds] : units) {
    if (unit == name) {
      if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / seconds / 1000) {
        return make_error("duration is too large");
      }
      return Duration{static_cast<std::int64_t>(n * seconds)};
    }
  }
  return make_error("unknown duration unit '" + std::string(unit) + "': use s, m, h, d, w or y (e.g. 10m, 30d)");
}

std::string format_duration(Duration d) {
  const auto s = d.count();
  if (s == 0) return "0s";
  static constexpr std::array<std::pair<const char*, std::int64_t>, 5> units{{
      {"y", 365 * 86400}, {"w", 7 * 86400}, {"d", 86400}, {"h", 3600}, {"m", 60}}};
  for (const auto& [name, seconds] : units) {
    if (s % seconds == 0) return std::to_string(s / seconds) + name;
  }
  return std::to_string(s) + "s";
}

Result<std::uint64_t> parse_size(std::string_view text) {
  auto split = split_number(text, "size");
  if (!split) return split.error();
  const auto [n, unit] = *split;
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8> units{{
      {"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}}};
  for (const auto& [name, factor] : units) {
    if (unit == name) {
      if (n > std::numeric_limits<std::uint64_t>::max() / factor) return make_error("size is too large");
      return n * factor;
    }
  }
  return make_error("unknown size unit '" + std::string(unit) + "': use B, KiB, MiB, GiB, KB, MB or GB (e.g. 25MiB)");
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0";
  static constexpr std::array<std::pair<const char*, std::uint64_t>, 3> units{{
      {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}}};
  for (const auto& [name, factor] : units) {
    if (bytes % factor == 0) return std::to_string(bytes / factor) + name;
  }
  return std::to_string(bytes) + "B";
}

}  // namespace sinetti::config
