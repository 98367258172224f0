// Test-only helper for tests/e2e/store_crash_test.py (not part of the product).
//   store_crash_writer write DB RUN     stores messages as fast as it can, from several threads, and
//                                       prints "ID CHECKSUM CHUNKS" for each one only after its
//                                       commit completed; runs until killed.
//   store_crash_writer verify DB FILE   re-opens the store (as a restart does) and checks that every
//                                       message listed in FILE is stored with intact chunks, and that
//                                       the audit chain verifies. Exit 0 if so, 1 otherwise.
// The content is random-looking bytes; the layer above will extend this to sealed content that
// must open and verify.
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/store/sqlite_store.hpp"
#include "sinetti/clock.hpp"

using namespace sinetti::store;

namespace {

constexpr std::size_t piece_size = 64 * 1024;
constexpr int threads = 4;
constexpr int in_flight_per_thread = 4;

Hash sha256(std::span<const std::uint8_t> data) {
  Hash out{};
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr) != 1) std::abort();
  return out;
}

struct Rng {
  std::uint64_t x;
  std::uint64_t next() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }
};

// FNV-1a 64 over the concatenated chunks.
struct Checksum {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void add(std::span<const std::uint8_t> bytes) {
    for (const auto b : bytes) {
      h ^= b;
      h *= 0x100000001b3ull;
    }
  }
};

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Mostly small messages, some spanning several chunks.
std::vector<Chunk> content(Rng& rng, Checksum& sum) {
  const bool large = rng.next() % 4 == 0;
  const std::size_t size = large ? 64 * 1024 + rng.next() % (150 * 1024) : 512 + rng.next() % (8 * 1024);
  std::vector<Chunk> pieces;
  for (std::size_t at = 0; at < size; at += piece_size) {
    Chunk c(std::min(piece_size, size - at));
    for (auto& b : c) b = static_cast<std::uint8_t>(rng.next() >> 24);
    sum.add(c);
    pieces.push_back(std::move(c));
  }
  return pieces;
}

// One write() per line: lines from different threads never interleave.
void report(const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

int write_loop(Store& store, const std::string& run) {
  std::vector<std::thread> pool;
  std::atomic<bool> failed{false};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Rng rng{0x9e3779b97f4a7c15ull ^ (std::hash<std::string>{}(run) + static_cast<std::uint64_t>(t) * 7919)};
      std::mutex mutex;
      std::condition_variable cv;
      int outstanding = 0;
      for (std::uint64_t n = 0; !failed; ++n) {
        {
          std::unique_lock lock(mutex);
          cv.wait(lock, [&] { return outstanding < in_flight_per_thread; });
        }
        const std::string id = "r" + run + "-t" + std::to_string(t) + "-" + std::to_string(n);
        Checksum sum;
        auto pieces = content(rng, sum);
        const auto chunks = pieces.size();
        std::uint64_t size = 0;
        for (const auto& p : pieces) size += p.size();
        MessageMeta meta;
        meta.id = id;
        meta.kind = MessageKind::spool;
        meta.sender = "sender@example.com";
        meta.recipients = {"team@example.fi"};
        meta.wrapped_key = Bytes(40, static_cast<std::uint8_t>(n));
        meta.kek_id = 1;
        CommitBatch batch;
        MessageCommit mc;
        mc.id = id;
        if (n % 2 == 0) {
          // Streamed: create, append all but the last piece, commit the last.
          if (!store.begin_message(meta).ok()) { failed = true; break; }
          std::vector<Chunk> last;
          last.push_back(std::move(pieces.back()));
          pieces.pop_back();
          if (!store.append_chunks(id, std::move(pieces)).ok()) { failed = true; break; }
          mc.chunks = std::move(last);
        } else {
          mc.meta = meta;
          mc.chunks = std::move(pieces);
        }
        mc.size = size;
        batch.messages.push_back(std::move(mc));
        QueueEntry e;
        e.message_id = id;
        e.sender = meta.sender;
        e.recipient = "team@example.fi";
        batch.queue.push_back(e);
        AuditEvent a;
        a.event = "message.stored";
        a.message_id = id;
        a.actor = "system";
        a.outcome = "ok";
        batch.audit.push_back(a);
        const std::string line = id + " " + hex64(sum.h) + " " + std::to_string(chunks) + "\n";
        {
          std::lock_guard lock(mutex);
          ++outstanding;
        }
        store.commit_async(std::move(batch), [&, line](Status s) {
          if (s.ok()) {
            report(line);
          } else {
            std::cerr << "commit failed: " << s.error().message << "\n";
            failed = true;
          }
          // Notify under the lock: once outstanding is 0 the thread may return and destroy cv.
          std::lock_guard lock(mutex);
          --outstanding;
          cv.notify_one();
        });
      }
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return outstanding == 0; });
    });
  }
  for (auto& t : pool) t.join();
  return failed ? 1 : 0;
}

int verify(Store& store, const std::string& list) {
  std::ifstream in(list);
  std::string line;
  std::size_t checked = 0, bad = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, checksum;
    std::uint32_t chunks = 0;
    if (!(fields >> id >> checksum >> chunks)) continue;
    ++checked;
    auto meta = store.find_message(id);
    if (!meta.ok() || !meta->has_value()) {
      std::cerr << "missing: " << id << "\n";
      ++bad;
      continue;
    }
    if ((*meta)->state != MessageState::stored || (*meta)->chunk_count != chunks) {
      std::cerr << "wrong state or chunk count: " << id << "\n";
      ++bad;
      continue;
    }
    Checksum sum;
    auto n = store.for_each_chunk(id, [&](std::uint32_t, std::span<const std::uint8_t> b) {
      sum.add(b);
      return true;
    });
    if (!n.ok() || *n != chunks || hex64(sum.h) != checksum) {
      std::cerr << "content differs: " << id << "\n";
      ++bad;
      continue;
    }
    auto entry = store.find_queue_entry(id + ".1");
    if (!entry.ok() || !entry->has_value()) {
      std::cerr << "queue entry missing: " << id << "\n";
      ++bad;
    }
  }
  auto audit = store.verify_audit();
  const bool chain_ok = audit.ok() && audit->ok;
  std::cout << "checked " << checked << " bad " << bad << " removed_at_open " << store.stats().removed_at_open
            << " audit " << (chain_ok ? "ok" : "broken") << " records " << (audit.ok() ? audit->records : 0) << "\n";
  if (!chain_ok) std::cerr << "audit chain: " << (audit.ok() ? audit->problem : audit.error().message) << "\n";
  return bad == 0 && chain_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: store_crash_writer write DB RUN | verify DB FILE\n";
    return 2;
  }
  const std::string mode = argv[1];
  sinetti::SystemClock clock;
  SqliteOptions options;
  options.path = argv[2];
  auto store = SqliteStore::open(options, clock, sha256);
  if (!store) {
    std::cerr << store.error().message << "\n";
    return 1;
  }
  if (mode == "write") return write_loop(**store, argv[3]);
  if (mode == "verify") return verify(**store, argv[3]);
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
