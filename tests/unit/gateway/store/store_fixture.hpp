// Shared by the store tests: a temporary directory, a manual clock, SHA-256 for the audit chain, a
// SqliteStore opened on them, and a second raw SQLite connection for inspecting and tampering with
// the file behind the store's back.
#pragma once

#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <type_traits>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/store/sqlite_store.hpp"
#include "sinetti/clock.hpp"

namespace store_test {

using namespace sinetti::store;
using namespace std::chrono_literals;

// SHA-256 from OpenSSL (the product injects crypto's; tests link OpenSSL directly).
inline Hash sha256(std::span<const std::uint8_t> data) {
  Hash out{};
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr) != 1 || n != out.size()) {
    throw std::runtime_error("sha256 failed");
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sinetti-store-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A second connection to the same file, for what a test must do behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      throw std::runtime_error("raw open failed");
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  sqlite3* raw() { return db_; }
  // Returns SQLite's error text, empty on success.
  std::string exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string text = rc == SQLITE_OK ? "" : (err != nullptr ? err : "error");
    sqlite3_free(err);
    return text;
  }
  std::int64_t integer(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
    std::int64_t v = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
    std::string v;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      v = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Builders: GCC's -Wmissing-field-initializers also flags designated initializers that leave out
// the members the store fills in.
inline QueueEntry entry(const MessageId& message_id, const std::string& recipient, const std::string& id = "",
                        std::optional<Timestamp> next_attempt = std::nullopt) {
  QueueEntry e;
  e.id = id;
  e.message_id = message_id;
  e.sender = "sender@example.com";
  e.recipient = recipient;
  e.kind = DeliveryKind::forward;
  e.next_attempt = next_attempt;
  return e;
}

inline ReadToken token(const Hash& h, const MessageId& message_id, const std::string& recipient, Timestamp expires,
                       TokenPurpose purpose = TokenPurpose::read, std::uint32_t index = 0) {
  ReadToken t;
  t.token_hash = h;
  t.message_id = message_id;
  t.recipient = recipient;
  t.recipient_index = index;
  t.purpose = purpose;
  t.expires = expires;
  return t;
}

inline PinChallenge pin(const std::string& id, const MessageId& message_id, const Hash& token_hash, Bytes mac,
                        Timestamp expires) {
  PinChallenge c;
  c.id = id;
  c.message_id = message_id;
  c.token_hash = token_hash;
  c.mac = std::move(mac);
  c.expires = expires;
  return c;
}

inline DeviceBinding device(const Hash& token_hash, const Hash& device_hash, const MessageId& message_id) {
  DeviceBinding d;
  d.token_hash = token_hash;
  d.device_hash = device_hash;
  d.message_id = message_id;
  return d;
}

inline Session session(const Hash& id_hash, Bytes data, Timestamp expires) {
  Session s;
  s.id_hash = id_hash;
  s.data = std::move(data);
  s.expires = expires;
  return s;
}

inline AuditEvent event(const std::string& name, const MessageId& message_id, const std::string& actor = "system",
                        const std::string& outcome = "ok") {
  AuditEvent e;
  e.event = name;
  e.message_id = message_id;
  e.actor = actor;
  e.outcome = outcome;
  return e;
}

inline Timestamp epoch_2025() { return Timestamp(std::chrono::milliseconds(1735689600000)); }  // 2025-01-01

struct Fixture {
  TempDir dir;
  sinetti::ManualClock clock{std::chrono::system_clock::time_point(epoch_2025().time_since_epoch())};
  std::filesystem::path db_path = dir.path() / "sinetti.db";

  SqliteOptions options() const {
    SqliteOptions o;
    o.path = db_path;
    o.read_connections = 2;
    return o;
  }
  std::unique_ptr<SqliteStore> open(const SqliteOptions& o) {
    auto s = SqliteStore::open(o, clock, sha256);
    if (!s) BOOST_FAIL("open failed: " << s.error().message);
    return std::move(*s);
  }
  std::unique_ptr<SqliteStore> open() { return open(options()); }
  Timestamp now() const { return to_timestamp(clock.now()); }
};

// Deterministic content that differs per seed and position.
inline Chunk piece(std::size_t size, std::uint32_t seed) {
  Chunk c(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : c) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return c;
}

inline MessageMeta meta(const std::string& id, MessageKind kind = MessageKind::protected_message) {
  MessageMeta m;
  m.id = id;
  m.kind = kind;
  m.protection = kind == MessageKind::protected_message ? ProtectionLevel::sms : ProtectionLevel::none;
  if (kind == MessageKind::protected_message) {
    m.unlock.kind = UnlockKind::phone;
    m.unlock.sealed_phone = {0xAA, 0xBB, 0xCC};
  }
  m.sender = "staff@example.fi";
  m.recipients = {"client@example.com", "other@example.org"};
  m.team_id = "neuvonta";
  m.thread_id = "t-" + id;
  m.language = "fi";
  m.wrapped_key = Bytes{1, 2, 3, 4, 5, 6, 7, 8};
  m.kek_id = 1;
  return m;
}

// A one-step commit of a whole message with `chunks` pieces.
inline CommitBatch whole_message(const std::string& id, std::size_t chunks = 2, std::size_t chunk_size = 1000) {
  CommitBatch b;
  MessageCommit mc;
  mc.id = id;
  mc.meta = meta(id);
  for (std::size_t i = 0; i < chunks; ++i) mc.chunks.push_back(piece(chunk_size, static_cast<std::uint32_t>(i)));
  mc.size = chunks * chunk_size;
  b.messages.push_back(std::move(mc));
  b.audit.push_back(event("message.stored", id));
  return b;
}

inline Hash hash_of(std::uint8_t fill) {
  Hash h;
  h.fill(fill);
  return h;
}

inline std::vector<Chunk> read_all(Store& s, const MessageId& id) {
  std::vector<Chunk> out;
  auto n = s.for_each_chunk(id, [&](std::uint32_t seq, std::span<const std::uint8_t> bytes) {
    BOOST_TEST(seq == out.size());
    out.emplace_back(bytes.begin(), bytes.end());
    return true;
  });
  BOOST_TEST_REQUIRE(n.ok());
  return out;
}

}  // namespace store_test

namespace sinetti::store {
// How Boost.Test prints the store's enums in a failed check.
inline std::ostream& boost_test_print_type(std::ostream& os, MessageKind v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, MessageState v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, ProtectionLevel v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, UnlockKind v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, TokenPurpose v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, DeliveryKind v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, QueueState v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, PinIssue v) { return os << to_string(v); }
inline std::ostream& boost_test_print_type(std::ostream& os, PinVerdict v) { return os << to_string(v); }
}  // namespace sinetti::store
