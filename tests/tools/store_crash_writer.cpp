// Test-only helper for tests/e2e/store_crash_test.py (not part of the product). DIR holds the
// store (DIR/store.db) and the key ring (DIR/keys).
//   store_crash_writer init DIR        creates the key ring in DIR/keys (KEK 1 active).
//   store_crash_writer rotate DIR      adds a KEK and makes it active (as `sinetti keys rotate`).
//   store_crash_writer write DIR RUN   seals and stores messages as fast as it can, from several
//                                      threads, as the ingest does: a fresh data key per message,
//                                      content sealed by sealed::ContentWriter, the key wrapped to the
//                                      active KEK with the ring's public half only. Half the messages
//                                      stream (begin_message, append_chunks, commit), half commit
//                                      in one step. Prints "ID SHA256 SIZE KEK" for each one only
//                                      after its commit completed; runs until killed.
//   store_crash_writer verify DIR FILE re-opens the store (as a restart does) with the ring's private
//                                      half and checks that every message listed in FILE is stored,
//                                      wrapped to the KEK it was reported with, opens through
//                                      sealed::ContentReader and hashes to the reported SHA-256; its
//                                      queue entry is there and the audit chain verifies. Exit 0 if
//                                      so, 1 otherwise.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_ring.hpp"
#include "crypto/primitives.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "gateway/store/sqlite_store.hpp"
#include "sinetti/clock.hpp"

using namespace sinetti::store;
namespace crypto = sinetti::crypto;
namespace sealed = sinetti::sealed;
namespace fs = std::filesystem;

namespace {

constexpr int threads = 4;
constexpr int in_flight_per_thread = 4;

Hash audit_hash(std::span<const std::uint8_t> data) {
  const auto d = crypto::sha256(data);
  Hash h{};
  std::copy(d.begin(), d.end(), h.begin());
  return h;
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

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Mostly small messages, a quarter spanning several 64 KiB chunks.
std::string plaintext(Rng& rng) {
  const bool large = rng.next() % 4 == 0;
  const std::size_t size = large ? 64 * 1024 + rng.next() % (200 * 1024) : 200 + rng.next() % (8 * 1024);
  std::string text(size, '\0');
  for (auto& c : text) c = static_cast<char>(rng.next() >> 24);
  return text;
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

int write_loop(Store& store, const crypto::KeyRing& ring, const std::string& run) {
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
        const std::string text = plaintext(rng);
        const auto digest = crypto::sha256(crypto::as_bytes(text));
        const auto key = crypto::DataKey::generate();
        sealed::ContentWriter writer(key, id);

        MessageMeta meta;
        meta.id = id;
        meta.kind = MessageKind::spool;
        meta.sender = "sender@example.com";
        meta.recipients = {"team@example.fi"};
        meta.wrapped_key = ring.wrap(key, id);
        meta.kek_id = ring.active_kek();
        meta.size = text.size();
        CommitBatch batch;
        MessageCommit mc;
        mc.id = id;
        mc.size = text.size();
        if (n % 2 == 0) {
          // Streamed as DATA arrives: pieces sealed so far go to the store before the commit.
          if (!store.begin_message(meta).ok()) { failed = true; break; }
          std::vector<Chunk> pieces;
          const std::size_t half = text.size() / 2;
          writer.update(std::string_view(text).substr(0, half), pieces);
          if (!store.append_chunks(id, std::move(pieces)).ok()) { failed = true; break; }
          std::vector<Chunk> rest;
          writer.update(std::string_view(text).substr(half), rest);
          writer.finish(rest);
          mc.chunks = std::move(rest);
          mc.meta = meta;  // the classification at the end replaces the descriptive fields
        } else {
          writer.update(text, mc.chunks);
          writer.finish(mc.chunks);
          mc.meta = meta;
        }
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
        const std::string line = id + " " + hex(digest) + " " + std::to_string(text.size()) + " " +
                                 std::to_string(ring.active_kek()) + "\n";
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

// Opens the message as delivery does and hashes the plaintext; empty on any failure (reported).
std::string open_and_hash(Store& store, const MessageMeta& meta, const crypto::KeyRing& ring) {
  auto reader = sealed::ContentReader::open(store, meta, ring);
  if (!reader) {
    std::cerr << "does not open: " << meta.id << ": " << reader.error().message << "\n";
    return {};
  }
  crypto::Sha256 running;
  std::uint64_t size = 0;
  for (;;) {
    auto piece = (*reader)->next();
    if (!piece) {
      std::cerr << "does not verify: " << meta.id << ": " << piece.error().message << "\n";
      return {};
    }
    if (piece->empty()) break;
    size += piece->size();
    running.update(crypto::as_bytes(*piece));
  }
  if (size != meta.size) {
    std::cerr << "wrong size: " << meta.id << "\n";
    return {};
  }
  return hex(running.finish());
}

int verify(Store& store, const crypto::KeyRing& ring, const std::string& list) {
  std::ifstream in(list);
  std::string line;
  std::size_t checked = 0, bad = 0;
  std::vector<std::size_t> per_kek;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, digest;
    std::uint64_t size = 0;
    std::uint32_t kek = 0;
    if (!(fields >> id >> digest >> size >> kek)) continue;
    ++checked;
    auto meta = store.find_message(id);
    if (!meta.ok() || !meta->has_value()) {
      std::cerr << "missing: " << id << "\n";
      ++bad;
      continue;
    }
    const MessageMeta& m = **meta;
    if (m.state != MessageState::stored || m.size != size || m.kek_id != kek || !m.wrapped_key) {
      std::cerr << "wrong state, size or KEK: " << id << "\n";
      ++bad;
      continue;
    }
    if (open_and_hash(store, m, ring) != digest) {
      std::cerr << "content differs: " << id << "\n";
      ++bad;
      continue;
    }
    if (per_kek.size() <= kek) per_kek.resize(kek + 1);
    ++per_kek[kek];
    auto entry = store.find_queue_entry(id + ".1");
    if (!entry.ok() || !entry->has_value()) {
      std::cerr << "queue entry missing: " << id << "\n";
      ++bad;
    }
  }
  auto audit = store.verify_audit();
  const bool chain_ok = audit.ok() && audit->ok;
  std::cout << "checked " << checked << " bad " << bad << " removed_at_open " << store.stats().removed_at_open
            << " audit " << (chain_ok ? "ok" : "broken") << " records " << (audit.ok() ? audit->records : 0)
            << " opened_per_kek";
  for (std::size_t k = 1; k < per_kek.size(); ++k) std::cout << " " << k << ":" << per_kek[k];
  std::cout << "\n";
  if (!chain_ok) std::cerr << "audit chain: " << (audit.ok() ? audit->problem : audit.error().message) << "\n";
  return bad == 0 && chain_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool two = mode == "init" || mode == "rotate";
  if (argc != (two ? 3 : 4) || (!two && mode != "write" && mode != "verify")) {
    std::cerr << "usage: store_crash_writer init DIR | rotate DIR | write DIR RUN | verify DIR FILE\n";
    return 2;
  }
  const fs::path dir = argv[2];
  const fs::path keys = dir / "keys";
  sinetti::SystemClock clock;
  if (two) {
    auto id = mode == "init" ? crypto::KeyRing::init(keys, clock) : crypto::KeyRing::rotate(keys, clock);
    if (!id) {
      std::cerr << id.error().message << "\n";
      return 1;
    }
    std::cout << "kek " << *id << "\n";
    return 0;
  }
  // The writer seals as the network-facing ingest does: with the public half only.
  auto ring = crypto::KeyRing::load(keys, mode == "write" ? crypto::Access::seal : crypto::Access::open);
  if (!ring) {
    std::cerr << ring.error().message << "\n";
    return 1;
  }
  SqliteOptions options;
  options.path = dir / "store.db";
  auto store = SqliteStore::open(options, clock, audit_hash);
  if (!store) {
    std::cerr << store.error().message << "\n";
    return 1;
  }
  if (mode == "write") return write_loop(**store, *ring, argv[3]);
  return verify(**store, *ring, argv[3]);
}
