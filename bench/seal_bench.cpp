// Seal and open throughput of the sealing layer: large messages through StreamSealer/StreamOpener
// (MB per CPU second, 1 MB = 10^6 bytes) and 10 KB messages including the per-message data key and key wrap
// (messages/s). bench/seal.sh runs it beside `openssl speed` and prints the ratio.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "crypto/key_ring.hpp"
#include "crypto/random.hpp"
#include "crypto/sealed_stream.hpp"
#include "sinetti/clock.hpp"

using namespace sinetti::crypto;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::size_t large_bytes = 32 * 1024 * 1024;
  int large_rounds = 30;
  std::size_t piece_bytes = 1024 * 1024;
  std::size_t small_bytes = 10'000;
  double small_seconds = 2.0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: sinetti_bench_seal [--large-bytes N] [--large-rounds N] [--piece-bytes N] [--small-bytes N] "
               "[--small-seconds S]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage();
    const char* value = argv[++i];
    if (arg == "--large-bytes") o.large_bytes = std::strtoull(value, nullptr, 10);
    else if (arg == "--large-rounds") o.large_rounds = std::atoi(value);
    else if (arg == "--piece-bytes") o.piece_bytes = std::strtoull(value, nullptr, 10);
    else if (arg == "--small-bytes") o.small_bytes = std::strtoull(value, nullptr, 10);
    else if (arg == "--small-seconds") o.small_seconds = std::atof(value);
    else usage();
  }
  if (o.large_bytes == 0 || o.large_rounds <= 0 || o.piece_bytes == 0 || o.small_seconds <= 0) usage();
  return o;
}

const sinetti::SystemClock clock_source;

// CPU time of this thread. `openssl speed` divides by CPU (user) time too unless given -elapsed,
// so the two figures compare, and neither counts the time other processes take on a shared machine.
double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds_since(double start) { return cpu_seconds() - start; }

// Keeps the optimiser from dropping work whose output nobody reads.
std::uint8_t sink_check = 0;

void feed_in_pieces(ByteView data, std::size_t piece, auto&& consume) {
  while (!data.empty()) {
    const std::size_t n = std::min(piece, data.size());
    consume(data.first(n));
    data = data.subspan(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const DataKey key = DataKey::generate();
  auto discard = [](ByteView b) { sink_check ^= b.back(); };

  // Large messages. Sealing reads the message through one piece-sized buffer, as it arrives from a
  // socket; opening reads a sealed blob held in memory, as from the page cache. Each figure is the
  // total over all rounds, as `openssl speed` averages over its run.
  Bytes piece(o.piece_bytes);
  random_bytes(piece);
  double seal_time = 0;
  for (int round = 0; round < o.large_rounds; ++round) {
    const double start = cpu_seconds();
    StreamSealer sealer(key, "bench-large");
    for (std::size_t done = 0; done < o.large_bytes; done += piece.size()) {
      sealer.update(ByteView(piece).first(std::min(piece.size(), o.large_bytes - done)), discard);
    }
    sealer.finish(discard);
    seal_time += seconds_since(start);
  }
  Bytes plaintext(o.large_bytes);
  random_bytes(plaintext);
  const Bytes sealed = seal_message(key, "bench-large", plaintext);
  double open_time = 0;
  for (int round = 0; round < o.large_rounds; ++round) {
    const double start = cpu_seconds();
    StreamOpener opener(key, "bench-large");
    bool ok = true;
    feed_in_pieces(sealed, o.piece_bytes, [&](ByteView p) { ok = ok && opener.update(p, discard).ok(); });
    if (!ok || !opener.finish(discard).ok()) {
      std::fprintf(stderr, "sinetti_bench_seal: opening failed\n");
      return 1;
    }
    open_time += seconds_since(start);
  }
  std::printf("large_message_bytes %zu\n", o.large_bytes);
  std::printf("piece_bytes %zu\n", o.piece_bytes);
  const double large_total = static_cast<double>(o.large_bytes) * o.large_rounds;
  std::printf("seal_large_MBps %.1f\n", large_total / seal_time / 1e6);
  std::printf("open_large_MBps %.1f\n", large_total / open_time / 1e6);

  // Small messages: a data key, the key wrapped to the ring's KEK, the content sealed; and back.
  char dir_template[] = "/tmp/sinetti-bench-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path keys = fs::path(dir_template) / "keys";
  if (auto made = KeyRing::init(keys, clock_source); !made) {
    std::fprintf(stderr, "sinetti_bench_seal: %s\n", made.error().message.c_str());
    return 1;
  }
  auto ring = KeyRing::load(keys, Access::open);
  if (!ring) {
    std::fprintf(stderr, "sinetti_bench_seal: %s\n", ring.error().message.c_str());
    return 1;
  }
  const ByteView small(plaintext.data(), std::min(o.small_bytes, plaintext.size()));
  struct Stored {
    Bytes blob, wrapped;
  };
  std::vector<Stored> stored;
  std::size_t sealed_count = 0;
  double start = cpu_seconds();
  double small_seal_time = 0;
  while ((small_seal_time = seconds_since(start)) < o.small_seconds) {
    for (int i = 0; i < 100; ++i, ++sealed_count) {
      const DataKey message_key = DataKey::generate();
      Stored s{seal_message(message_key, "bench-small", small), ring->wrap(message_key, "bench-small")};
      if (stored.size() < 1000) stored.push_back(std::move(s));
    }
  }
  std::size_t opened_count = 0;
  start = cpu_seconds();
  double small_open_time = 0;
  while ((small_open_time = seconds_since(start)) < o.small_seconds) {
    for (int i = 0; i < 100; ++i, ++opened_count) {
      const Stored& s = stored[opened_count % stored.size()];
      const auto header = parse_sealed_header(s.blob);
      auto message_key = header ? ring->unwrap(s.wrapped, header->key_id, "bench-small") : header.error();
      auto opened = message_key ? open_message(*message_key, "bench-small", s.blob) : message_key.error();
      if (!opened) {
        std::fprintf(stderr, "sinetti_bench_seal: %s\n", opened.error().message.c_str());
        return 1;
      }
      sink_check ^= opened->back();
    }
  }
  // The same without the wrap, to show what the key wrap costs.
  std::size_t bare_count = 0;
  start = cpu_seconds();
  double bare_time = 0;
  while ((bare_time = seconds_since(start)) < o.small_seconds / 2) {
    for (int i = 0; i < 100; ++i, ++bare_count) sink_check ^= seal_message(key, "bench-small", small).back();
  }
  std::printf("small_message_bytes %zu\n", small.size());
  std::printf("seal_small_msgs_per_s %.0f\n", static_cast<double>(sealed_count) / small_seal_time);
  std::printf("open_small_msgs_per_s %.0f\n", static_cast<double>(opened_count) / small_open_time);
  std::printf("seal_small_without_wrap_msgs_per_s %.0f\n", static_cast<double>(bare_count) / bare_time);
  std::error_code ec;
  fs::remove_all(dir_template, ec);
  std::printf("check_byte %u\n", static_cast<unsigned>(sink_check));  // so the work cannot be optimised away
  return 0;
}
