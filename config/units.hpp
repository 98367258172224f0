// Durations ("90s", "10m", "12h", "30d", "1w", "10y") and sizes ("512", "64KiB", "25MiB", "1GB") as
// operators write them in the configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sinetti/result.hpp"

namespace sinetti::config {

using Duration = std::chrono::seconds;

// A number followed by one unit: s, m, h, d, w, y (365 days). "0" alone is zero. No fractions.
Result<Duration> parse_duration(std::string_view text);
// The shortest exact spelling: 600s → "10m", 2592000s → "30d".
std::string format_duration(Duration d);

// Bytes, optionally with a unit: B, KiB, MiB, GiB (1024-based) or KB, MB, GB (1000-based).
Result<std::uint64_t> parse_size(std::string_view text);
// The shortest exact spelling with binary units: 36700160 → "35MiB".
std::string format_size(std::uint64_t bytes);

}  // namespace sinetti::config
