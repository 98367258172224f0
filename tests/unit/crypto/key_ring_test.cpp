// The key ring: files and modes on disk, init/rotate/list/load, wrap and unwrap of data keys, the
// seal-only ring that cannot unwrap, rewrap to a new KEK, and refusal of unsafe permissions.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "crypto/key_ring.hpp"
#include "crypto/sealed_stream.hpp"
#include "sinetti/clock.hpp"
#include "test_support.hpp"

using namespace sinetti::crypto;
using sinetti::ManualClock;
using sinetti::crypto::test::TempDir;
namespace fs = std::filesystem;

namespace {

const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename T>
std::string why(const sinetti::Result<T>& r) {
  return r.ok() ? std::string() : r.error().message;
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

struct Ring {
  TempDir tmp;
  fs::path dir = tmp.path / "keys";
  ManualClock clock{t0};
  Ring() { BOOST_REQUIRE(KeyRing::init(dir, clock).ok()); }
  KeyRing load(Access access) const {
    auto ring = KeyRing::load(dir, access);
    BOOST_REQUIRE_MESSAGE(ring.ok(), why(ring));
    return std::move(*ring);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_key_ring)

BOOST_AUTO_TEST_CASE(init_lays_out_private_files_and_refuses_a_second_time) {
  Ring r;
  BOOST_TEST(mode_of(r.dir) == 0700u);
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(r.dir)) {
    names.insert(entry.path().filename().string());
    BOOST_TEST(mode_of(entry.path()) == 0600u, entry.path());
  }
  BOOST_TEST((names == std::set<std::string>{"active", "kek-000001.key", "kek-000001.pub", "identity.secret",
                                             "pin-mac.secret", "session.secret"}));
  BOOST_TEST(slurp(r.dir / "active") == "kek-000001\n");
  BOOST_TEST(slurp(r.dir / "kek-000001.pub").starts_with("sinetti-kek-public 1\nid 1\ncreated 1750000000\nx25519 "));
  BOOST_TEST(fs::file_size(r.dir / "pin-mac.secret") == server_secret_size);

  const auto again = KeyRing::init(r.dir, r.clock);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().message.find("already exists") != std::string::npos);
  BOOST_TEST(slurp(r.dir / "active") == "kek-000001\n");

  // An existing directory that others can use is not silently taken over.
  TempDir other;
  const fs::path shared = other.path / "shared";
  fs::create_directory(shared);
  fs::permissions(shared, fs::perms(0755));
  BOOST_TEST(!KeyRing::init(shared, r.clock).ok());
  fs::permissions(shared, fs::perms(0700));
  BOOST_TEST(KeyRing::init(shared, r.clock).ok());
}

BOOST_AUTO_TEST_CASE(wrap_and_unwrap_round_trip_with_the_sealed_stream) {
  Ring r;
  const KeyRing ring = r.load(Access::open);
  BOOST_TEST(ring.active_kek() == 1u);

  // What the store does: a data key per message, the content sealed, the key wrapped.
  const DataKey key = DataKey::generate();
  const Bytes content = test::bytes_of("Hei! Liitteenä päätös.");
  const Bytes blob = seal_message(key, "msg-0001", content);
  const Bytes wrapped = ring.wrap(key, "msg-0001");
  BOOST_TEST(wrapped.size() == wrapped_key_size);
  BOOST_TEST(*wrapped_key_kek(wrapped) == 1u);

  // And back: the header names the data key; the ring unwraps it; the stream opens.
  const auto header = parse_sealed_header(blob);
  BOOST_REQUIRE(header.ok());
  const auto unwrapped = ring.unwrap(wrapped, header->key_id, "msg-0001");
  BOOST_REQUIRE_MESSAGE(unwrapped.ok(), why(unwrapped));
  BOOST_TEST(constant_time_equal(unwrapped->bytes(), key.bytes()));
  const auto opened = open_message(*unwrapped, "msg-0001", blob);
  BOOST_REQUIRE(opened.ok());
  BOOST_TEST((*opened == content));

  // Two wraps of the same key differ (fresh ephemeral key and nonce).
  BOOST_TEST((ring.wrap(key, "msg-0001") != wrapped));
}

BOOST_AUTO_TEST_CASE(a_reused_ephemeral_key_lasts_its_count_and_age_and_every_wrap_still_opens_alone) {
  Ring r;
  KeyRing ring = r.load(Access::open);
  ManualClock clock{t0};
  ring.reuse_ephemeral(EphemeralReuse{3, std::chrono::seconds(1), &clock});
  auto ephemeral_of = [](const Bytes& wrapped) { return Bytes(wrapped.begin() + 5, wrapped.begin() + 5 + x25519_key_size); };

  std::vector<DataKey> keys;
  std::vector<Bytes> wrapped;
  for (int i = 0; i < 5; ++i) {
    keys.push_back(DataKey::generate());
    wrapped.push_back(ring.wrap(keys.back(), "m" + std::to_string(i)));
  }
  // Three wraps share one ephemeral key, the fourth starts the next one.
  BOOST_TEST((ephemeral_of(wrapped[0]) == ephemeral_of(wrapped[1])));
  BOOST_TEST((ephemeral_of(wrapped[0]) == ephemeral_of(wrapped[2])));
  BOOST_TEST((ephemeral_of(wrapped[3]) != ephemeral_of(wrapped[0])));
  BOOST_TEST((ephemeral_of(wrapped[3]) == ephemeral_of(wrapped[4])));
  // Each has its own nonce and opens only as what it was wrapped for.
  BOOST_TEST((Bytes(wrapped[0].begin() + 37, wrapped[0].begin() + 49) != Bytes(wrapped[1].begin() + 37, wrapped[1].begin() + 49)));
  for (int i = 0; i < 5; ++i) {
    const std::string id = "m" + std::to_string(i);
    const auto opened = ring.unwrap(wrapped[i], keys[i].id(), id);
    BOOST_REQUIRE_MESSAGE(opened.ok(), why(opened));
    BOOST_TEST(constant_time_equal(opened->bytes(), keys[i].bytes()));
    BOOST_TEST(!ring.unwrap(wrapped[i], keys[i].id(), id + "x").ok());
    BOOST_TEST(!ring.unwrap(wrapped[i], keys[(i + 1) % 5].id(), id).ok());
  }
  // Past its age the kept key is not used again, whatever its count.
  clock.advance(std::chrono::seconds(1));
  const DataKey late = DataKey::generate();
  const Bytes after = ring.wrap(late, "late");
  BOOST_TEST((ephemeral_of(after) != ephemeral_of(wrapped[4])));
  BOOST_TEST(ring.unwrap(after, late.id(), "late").ok());
  // Without reuse every wrap makes a fresh ephemeral key.
  ring.reuse_ephemeral(EphemeralReuse{});
  BOOST_TEST((ephemeral_of(ring.wrap(late, "a")) != ephemeral_of(ring.wrap(late, "a"))));
}

BOOST_AUTO_TEST_CASE(unwrap_refuses_any_mismatch_or_damage) {
  Ring r;
  const KeyRing ring = r.load(Access::open);
  const DataKey key = DataKey::generate();
  const Bytes wrapped = ring.wrap(key, "msg-1");
  BOOST_TEST(ring.unwrap(wrapped, key.id(), "msg-1").ok());

  BOOST_TEST(!ring.unwrap(wrapped, key.id(), "msg-2").ok());
  BOOST_TEST(!ring.unwrap(wrapped, key.id(), "").ok());
  BOOST_TEST(!ring.unwrap(wrapped, DataKey::generate().id(), "msg-1").ok());

  // Every bit of the wrapped key matters: version, KEK id, ephemeral key, nonce, ciphertext, tag.
  for (std::size_t i = 0; i < wrapped.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = wrapped;
      bad[i] ^= static_cast<std::uint8_t>(1u << bit);
      BOOST_TEST(!ring.unwrap(bad, key.id(), "msg-1").ok(), "byte " << i << " bit " << bit);
    }
  }
  BOOST_TEST(!ring.unwrap(ByteView(wrapped).first(wrapped.size() - 1), key.id(), "msg-1").ok());
  Bytes longer = wrapped;
  longer.push_back(0);
  BOOST_TEST(!ring.unwrap(longer, key.id(), "msg-1").ok());

  // Another ring's KEK 1 is another key.
  Ring other;
  const auto foreign = other.load(Access::open).unwrap(wrapped, key.id(), "msg-1");
  BOOST_REQUIRE(!foreign.ok());
  BOOST_TEST(foreign.error().message.find("does not verify") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_seal_only_ring_wraps_but_cannot_unwrap) {
  Ring r;
  const KeyRing sealing = r.load(Access::seal);
  BOOST_TEST((sealing.access() == Access::seal));
  const DataKey key = DataKey::generate();
  const Bytes wrapped = sealing.wrap(key, "m");
  const auto refused = sealing.unwrap(wrapped, key.id(), "m");
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().message.find("sealing only") != std::string::npos);
  BOOST_TEST(!sealing.rewrap(wrapped, key.id(), "m").ok());
  BOOST_TEST(r.load(Access::open).unwrap(wrapped, key.id(), "m").ok());

  // The ingest host gets the public halves only: sealing works there, opening cannot.
  TempDir host;
  const fs::path copy = host.path / "keys";
  fs::create_directory(copy);
  fs::permissions(copy, fs::perms(0700));
  for (const auto& entry : fs::directory_iterator(r.dir)) {
    if (entry.path().extension() != ".key") fs::copy_file(entry.path(), copy / entry.path().filename());
  }
  const auto public_only = KeyRing::load(copy, Access::seal);
  BOOST_REQUIRE_MESSAGE(public_only.ok(), why(public_only));
  const Bytes wrapped_there = public_only->wrap(key, "m2");
  BOOST_TEST(r.load(Access::open).unwrap(wrapped_there, key.id(), "m2").ok());
  const auto open_there = KeyRing::load(copy, Access::open);
  BOOST_REQUIRE(open_there.ok());
  const auto no_private = open_there->unwrap(wrapped_there, key.id(), "m2");
  BOOST_REQUIRE(!no_private.ok());
  BOOST_TEST(no_private.error().message.find("private half") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rotate_keeps_old_messages_openable_and_rewrap_moves_them) {
  Ring r;
  const DataKey key = DataKey::generate();
  const Bytes old_wrap = r.load(Access::open).wrap(key, "old");

  r.clock.advance(std::chrono::hours(24));
  const auto rotated = KeyRing::rotate(r.dir, r.clock);
  BOOST_REQUIRE(rotated.ok());
  BOOST_TEST(*rotated == 2u);
  BOOST_TEST(slurp(r.dir / "active") == "kek-000002\n");
  BOOST_TEST(mode_of(r.dir / "kek-000002.key") == 0600u);

  const KeyRing ring = r.load(Access::open);
  BOOST_TEST(ring.active_kek() == 2u);
  BOOST_TEST(ring.unwrap(old_wrap, key.id(), "old").ok());
  BOOST_TEST(*wrapped_key_kek(ring.wrap(key, "new")) == 2u);

  const auto moved = ring.rewrap(old_wrap, key.id(), "old");
  BOOST_REQUIRE(moved.ok());
  BOOST_TEST(*wrapped_key_kek(*moved) == 2u);
  const auto back = ring.unwrap(*moved, key.id(), "old");
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(constant_time_equal(back->bytes(), key.bytes()));
  BOOST_TEST(!ring.rewrap(old_wrap, key.id(), "other").ok());

  // Once KEK 1's private half is destroyed, what only it opens is gone; the rewrapped copy is not.
  fs::remove(r.dir / "kek-000001.key");
  const KeyRing shredded = r.load(Access::open);
  BOOST_TEST(!shredded.unwrap(old_wrap, key.id(), "old").ok());
  BOOST_TEST(shredded.unwrap(*moved, key.id(), "old").ok());

  const auto listed = KeyRing::list(r.dir);
  BOOST_REQUIRE(listed.ok());
  BOOST_REQUIRE(listed->size() == 2u);
  BOOST_TEST((*listed)[0].id == 1u);
  BOOST_TEST(!(*listed)[0].active);
  BOOST_TEST(!(*listed)[0].has_private);
  BOOST_TEST(((*listed)[0].created == t0));
  BOOST_TEST((*listed)[1].id == 2u);
  BOOST_TEST((*listed)[1].active);
  BOOST_TEST((*listed)[1].has_private);
  BOOST_TEST(((*listed)[1].created == t0 + std::chrono::hours(24)));

  BOOST_TEST(*KeyRing::rotate(r.dir, r.clock) == 3u);
  BOOST_TEST(r.load(Access::seal).active_kek() == 3u);
}

BOOST_AUTO_TEST_CASE(server_secrets_are_loaded_by_name) {
  Ring r;
  const KeyRing ring = r.load(Access::open);
  std::set<std::string> seen;
  for (const auto name : standard_server_secrets) {
    const auto secret = ring.server_secret(name);
    BOOST_REQUIRE(secret.ok());
    BOOST_TEST(secret->size() == server_secret_size);
    seen.insert(test::to_hex(*secret));
  }
  BOOST_TEST(seen.size() == 3u);
  BOOST_TEST(test::to_hex(*r.load(Access::seal).server_secret("pin-mac")) == test::to_hex(*ring.server_secret("pin-mac")));
  BOOST_TEST(!ring.server_secret("nope").ok());

  spit(r.dir / "session.secret", "short");
  const auto short_secret = KeyRing::load(r.dir, Access::open);
  BOOST_REQUIRE(!short_secret.ok());
  BOOST_TEST(short_secret.error().message.find("session.secret") != std::string::npos);
  fs::remove(r.dir / "session.secret");
  BOOST_TEST(!KeyRing::load(r.dir, Access::seal).ok());
}

BOOST_AUTO_TEST_CASE(unsafe_permissions_are_refused_with_the_file_named) {
  Ring r;
  auto refused = [&](Access access, const std::string& name) {
    const auto ring = KeyRing::load(r.dir, access);
    if (ring.ok()) return false;
    const auto& message = ring.error().message;
    BOOST_TEST(message.find('\n') == std::string::npos);
    BOOST_TEST(message.find(name) != std::string::npos, message);
    return true;
  };
  const fs::path key = r.dir / "kek-000001.key";
  fs::permissions(key, fs::perms(0644));
  BOOST_TEST(refused(Access::open, "kek-000001.key"));
  BOOST_TEST(refused(Access::seal, "kek-000001.key"));  // never read there, still refused
  fs::permissions(key, fs::perms(0640));
  BOOST_TEST(refused(Access::open, "kek-000001.key"));
  fs::permissions(key, fs::perms(0600));
  BOOST_TEST(!refused(Access::open, ""));

  fs::permissions(r.dir / "pin-mac.secret", fs::perms(0604));
  BOOST_TEST(refused(Access::seal, "pin-mac.secret"));
  fs::permissions(r.dir / "pin-mac.secret", fs::perms(0600));

  fs::permissions(r.dir / "kek-000001.pub", fs::perms(0666));  // a replaceable public key
  BOOST_TEST(refused(Access::seal, "kek-000001.pub"));
  fs::permissions(r.dir / "kek-000001.pub", fs::perms(0644));  // readable is fine for a public half
  BOOST_TEST(!refused(Access::seal, ""));

  fs::permissions(r.dir / "active", fs::perms(0620));
  BOOST_TEST(refused(Access::seal, "active"));
  fs::permissions(r.dir / "active", fs::perms(0600));

  fs::permissions(r.dir, fs::perms(0777));
  BOOST_TEST(refused(Access::open, r.dir.string()));
  BOOST_TEST(!KeyRing::list(r.dir).ok());
  BOOST_TEST(!KeyRing::rotate(r.dir, r.clock).ok());
  fs::permissions(r.dir, fs::perms(0770));
  BOOST_TEST(refused(Access::open, r.dir.string()));
  fs::permissions(r.dir, fs::perms(0700));
  BOOST_TEST(!refused(Access::open, ""));

  // A symlink in place of a key file is not followed.
  fs::rename(key, r.dir / "moved.bin");
  fs::create_symlink(r.dir / "moved.bin", key);
  BOOST_TEST(refused(Access::open, "kek-000001.key"));
}

BOOST_AUTO_TEST_CASE(damaged_or_mismatched_key_files_are_refused) {
  Ring r;
  BOOST_REQUIRE(KeyRing::rotate(r.dir, r.clock).ok());
  const std::string key1 = slurp(r.dir / "kek-000001.key");
  const std::string key2 = slurp(r.dir / "kek-000002.key");

  // KEK 2's private file with KEK 1's key in it (id line rewritten): does not match the public half.
  std::string swapped = key1;
  swapped.replace(swapped.find("id 1"), 4, "id 2");
  spit(r.dir / "kek-000002.key", swapped);
  const auto mismatched = KeyRing::load(r.dir, Access::open);
  BOOST_REQUIRE(!mismatched.ok());
  BOOST_TEST(mismatched.error().message.find("does not match") != std::string::npos);
  BOOST_TEST(KeyRing::load(r.dir, Access::seal).ok());  // private halves are not read for sealing

  spit(r.dir / "kek-000002.key", key1);  // the right key under the wrong name
  BOOST_TEST(!KeyRing::load(r.dir, Access::open).ok());
  spit(r.dir / "kek-000002.key", key2);
  BOOST_TEST(KeyRing::load(r.dir, Access::open).ok());

  const std::string pub = slurp(r.dir / "kek-000002.pub");
  spit(r.dir / "kek-000002.pub", pub.substr(0, pub.size() - 2) + "!\n");
  BOOST_TEST(!KeyRing::load(r.dir, Access::seal).ok());
  spit(r.dir / "kek-000002.pub", pub);

  spit(r.dir / "active", "kek-000009\n");
  BOOST_TEST(!KeyRing::load(r.dir, Access::seal).ok());
  spit(r.dir / "active", "kek-2\n");
  BOOST_TEST(!KeyRing::load(r.dir, Access::seal).ok());
  spit(r.dir / "active", "kek-000002\n");
  BOOST_TEST(KeyRing::load(r.dir, Access::seal).ok());

  TempDir empty;
  const auto none = KeyRing::load(empty.path / "missing", Access::seal);
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.error().message.find("keys init") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
