// Store benchmark: stored 10 KB messages per second through SqliteStore with group commit over N
// concurrent submitters, against one transaction per message (group commit off), against this
// disk's own write+fdatasync rate measured in the same run and directory. Reports; asserts nothing.
//   sinetti_store_bench [--dir DIR] [--seconds S] [--size BYTES] [--submitters N,N,...]
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/primitives.hpp"
#include "gateway/store/sqlite_store.hpp"
#include "sinetti/clock.hpp"

using namespace sinetti::store;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::filesystem::path dir = ".";
  double seconds = 4;
  std::size_t size = 10 * 1024;
  std::vector<int> submitters = {1, 8, 32};
};

Hash sha256(std::span<const std::uint8_t> data) { return sinetti::crypto::sha256(data); }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Appends `size` bytes and fdatasyncs, as a WAL commit does, for `seconds`.
double fdatasync_rate(const std::filesystem::path& dir, std::size_t size, double seconds) {
  const auto path = dir / "fdatasync.bench";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("open");
    std::exit(1);
  }
  std::vector<char> block(size, 'x');
  std::uint64_t n = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      std::exit(1);
    }
    ++n;
  }
  const double rate = static_cast<double>(n) / seconds_since(start);
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

struct RunResult {
  double per_second = 0;
  std::uint64_t messages = 0;
  StoreStats stats;
};

RunResult store_rate(const std::filesystem::path& dir, const Args& args, int submitters, bool group_commit) {
  const auto path = dir / "store.bench.db";
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(path.string() + suffix);
  sinetti::SystemClock clock;
  SqliteOptions options;
  options.path = path;
  options.group_commit = group_commit;
  auto opened = SqliteStore::open(options, clock, sha256);
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    std::exit(1);
  }
  auto& store = **opened;
  const Chunk content(args.size, 0x5a);  // sealed bytes in the product; the store does not look
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false}, failed{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < submitters; ++t) {
    pool.emplace_back([&, t] {
      for (std::uint64_t n = 0; !stop; ++n) {
        const std::string id = "b" + std::to_string(t) + "-" + std::to_string(n);
        CommitBatch batch;
        MessageCommit mc;
        mc.id = id;
        MessageMeta meta;
        meta.id = id;
        meta.kind = MessageKind::spool;
        meta.sender = "sender@example.com";
        meta.recipients = {"team@example.fi"};
        meta.wrapped_key = Bytes(40, 1);
        meta.kek_id = 1;
        mc.meta = std::move(meta);
        mc.chunks.push_back(content);
        mc.size = content.size();
        batch.messages.push_back(std::move(mc));
        QueueEntry e;
        e.message_id = id;
        e.sender = "sender@example.com";
        e.recipient = "team@example.fi";
        batch.queue.push_back(std::move(e));
        AuditEvent a;
        a.event = "message.stored";
        a.message_id = id;
        a.actor = "system";
        a.outcome = "ok";
        batch.audit.push_back(std::move(a));
        if (!store.commit(std::move(batch)).ok()) {
          failed = true;
          return;
        }
        ++done;
      }
    });
  }
  // Count only after a warm-up (file growth, statement preparation, threads starting).
  std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.5, args.seconds / 4)));
  const auto from = done.load();
  const auto measured = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
  const auto to = done.load();
  const double elapsed = seconds_since(measured);
  stop = true;
  for (auto& th : pool) th.join();
  RunResult r;
  r.messages = to - from;
  r.per_second = static_cast<double>(r.messages) / elapsed;
  r.stats = store.stats();
  if (failed) {
    std::cerr << "a commit failed\n";
    std::exit(1);
  }
  opened->reset();
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(path.string() + suffix);
  return r;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) {
      std::cerr << "missing value for " << k << "\n";
      std::exit(2);
    }
    ++i;
    if (k == "--dir") {
      a.dir = v;
    } else if (k == "--seconds") {
      a.seconds = std::stod(v);
    } else if (k == "--size") {
      a.size = std::stoul(v);
    } else if (k == "--submitters") {
      a.submitters.clear();
      std::stringstream list(v);
      for (std::string n; std::getline(list, n, ',');) a.submitters.push_back(std::stoi(n));
    } else {
      std::cerr << "usage: sinetti_store_bench [--dir DIR] [--seconds S] [--size BYTES] [--submitters N,N,...]\n";
      std::exit(2);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::filesystem::create_directories(args.dir);
  std::printf("store bench: %zu-byte messages (meta + 1 chunk + queue entry + audit record), %.1f s per run, in %s\n",
              args.size, args.seconds, std::filesystem::absolute(args.dir).c_str());
  const double sync = fdatasync_rate(args.dir, args.size, args.seconds);
  std::printf("disk: write %zu B + fdatasync: %.0f /s\n\n", args.size, sync);
  std::printf("%10s  %14s  %14s  %9s  %11s  %11s\n", "submitters", "one-per-commit", "group commit", "avg group",
              "group/fsync", "group/single");
  for (const int n : args.submitters) {
    const auto single = store_rate(args.dir, args, n, false);
    const auto group = store_rate(args.dir, args, n, true);
    const double avg = group.stats.transactions > 0
                           ? static_cast<double>(group.stats.batches) / static_cast<double>(group.stats.transactions)
                           : 0;
    std::printf("%10d  %12.0f/s  %12.0f/s  %9.1f  %10.2fx  %10.2fx\n", n, single.per_second, group.per_second, avg,
                group.per_second / sync, group.per_second / single.per_second);
  }
  return 0;
}
