// Known-answer tests for the primitives against published vectors, and the behaviour of the small
// helpers (base64url, constant-time comparison, self-wiping types).
#include <boost/test/unit_test.hpp>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "crypto/primitives.hpp"
#include "crypto/random.hpp"
#include "test_support.hpp"

using namespace sinetti::crypto;
using sinetti::crypto::test::bytes_of;
using sinetti::crypto::test::hex;
using sinetti::crypto::test::to_hex;

BOOST_AUTO_TEST_SUITE(crypto_primitives)

// ---- SHA-256: FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values", SHA256.pdf and
// SHA2_Additional) ----

BOOST_AUTO_TEST_CASE(sha256_fips180_vectors) {
  BOOST_TEST(to_hex(sha256(as_bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(to_hex(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  BOOST_TEST(to_hex(sha256(as_bytes(""))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(to_hex(sha256(as_bytes("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopq"
                                    "rlmnopqrsmnopqrstnopqrstu"))) ==
             "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

BOOST_AUTO_TEST_CASE(sha256_incremental_million_a) {
  // One million 'a' (FIPS 180-2 Appendix B.3), fed in uneven pieces that cross block boundaries.
  const std::string piece(997, 'a');
  Sha256 h;
  std::size_t left = 1'000'000;
  for (std::size_t step = 1; left > 0; step = step % 997 + 13) {
    const std::size_t n = std::min({step, left, piece.size()});
    h.update(as_bytes(std::string_view(piece).substr(0, n)));
    left -= n;
  }
  BOOST_TEST(to_hex(h.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

BOOST_AUTO_TEST_CASE(sha256_incremental_matches_one_shot_at_every_split) {
  Bytes data(300);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
  const auto want = sha256(data);
  for (std::size_t split = 0; split <= data.size(); ++split) {
    Sha256 h;
    h.update(ByteView(data).first(split));
    h.update(ByteView(data).subspan(split));
    BOOST_TEST((h.finish() == want));
  }
}

// ---- HMAC-SHA256: RFC 4231 §4.2-§4.8 ----

BOOST_AUTO_TEST_CASE(hmac_sha256_rfc4231_vectors) {
  struct Case {
    Bytes key;
    Bytes data;
    std::string mac;
  };
  const Case cases[] = {
      {Bytes(20, 0x0b), bytes_of("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {bytes_of("Jefe"), bytes_of("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {Bytes(20, 0xaa), Bytes(50, 0xdd), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), Bytes(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {Bytes(131, 0xaa), bytes_of("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {Bytes(131, 0xaa),
       bytes_of("This is a test using a larger than block-size key and a larger than block-size data. The key needs "
                "to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& c : cases) BOOST_TEST(to_hex(hmac_sha256(c.key, c.data)) == c.mac);
  // §4.6 (test case 5) publishes only the first 128 bits.
  BOOST_TEST(to_hex(hmac_sha256(Bytes(20, 0x0c), bytes_of("Test With Truncation"))).substr(0, 32) ==
             "a3b6167473100ee06e0c796c2955552b");
}

BOOST_AUTO_TEST_CASE(hmac_sha256_empty_key_and_data_after_another_key) {
  // Each thread re-keys one context: a call with an empty key must not keep the previous key.
  const auto empty = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad";
  BOOST_TEST(to_hex(hmac_sha256({}, {})) == empty);
  BOOST_TEST(to_hex(hmac_sha256(bytes_of("Jefe"), bytes_of("what do ya want for nothing?"))) ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  BOOST_TEST(to_hex(hmac_sha256({}, {})) == empty);
  BOOST_TEST(to_hex(hmac_sha256(Bytes(20, 0x0b), bytes_of("Hi There"))) ==
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

BOOST_AUTO_TEST_CASE(hmac_sha256_on_several_threads) {
  // Every thread has its own context; interleaved keys on four threads give the vectors' MACs.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&wrong, t] {
      for (int i = 0; i < 500; ++i) {
        const bool jefe = (i + t) % 2 == 0;
        const auto mac = jefe ? hmac_sha256(bytes_of("Jefe"), bytes_of("what do ya want for nothing?"))
                              : hmac_sha256(Bytes(20, 0x0b), bytes_of("Hi There"));
        const auto want = jefe ? "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
                               : "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
        if (to_hex(mac) != want) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(wrong.load() == 0);
}

// ---- HKDF-SHA256: RFC 5869 Appendix A.1-A.3 ----

BOOST_AUTO_TEST_CASE(hkdf_sha256_rfc5869_vectors) {
  {
    const auto okm = hkdf_sha256(Bytes(22, 0x0b), hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
    BOOST_TEST(to_hex(okm.view()) ==
               "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  }
  {
    Bytes ikm, salt, info;
    for (int i = 0x00; i <= 0x4f; ++i) ikm.push_back(static_cast<std::uint8_t>(i));
    for (int i = 0x60; i <= 0xaf; ++i) salt.push_back(static_cast<std::uint8_t>(i));
    for (int i = 0xb0; i <= 0xff; ++i) info.push_back(static_cast<std::uint8_t>(i));
    const auto okm = hkdf_sha256(ikm, salt, info, 82);
    BOOST_TEST(to_hex(okm.view()) ==
               "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275"
               "600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
  }
  {
    const auto okm = hkdf_sha256(Bytes(22, 0x0b), {}, {}, 42);
    BOOST_TEST(to_hex(okm.view()) ==
               "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  }
  BOOST_CHECK_THROW(hkdf_sha256(Bytes(22, 0x0b), {}, {}, 255 * 32 + 1), std::invalid_argument);
  BOOST_CHECK_THROW(hkdf_sha256(Bytes(22, 0x0b), {}, {}, 0), std::invalid_argument);
}

// ---- X25519: RFC 7748 §5.2 and §6.1 ----

BOOST_AUTO_TEST_CASE(x25519_rfc7748_section_5_2_vectors) {
  const auto out1 = x25519_shared_secret(hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                                         hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"));
  BOOST_REQUIRE(out1.ok());
  BOOST_TEST(to_hex(out1->view()) == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  // The second vector's u-coordinate has the top bit set, which X25519 must ignore.
  const auto out2 = x25519_shared_secret(hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                                         hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"));
  BOOST_REQUIRE(out2.ok());
  BOOST_TEST(to_hex(out2->view()) == "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

BOOST_AUTO_TEST_CASE(x25519_rfc7748_iterated_1000) {
  // k = u = 9; then repeatedly k, u = X25519(k, u), k (§5.2, after 1 and 1,000 iterations).
  Bytes k = hex("0900000000000000000000000000000000000000000000000000000000000000");
  Bytes u = k;
  for (int i = 1; i <= 1000; ++i) {
    auto next = x25519_shared_secret(k, u);
    BOOST_REQUIRE(next.ok());
    u = k;
    k.assign(next->data(), next->data() + next->size());
    if (i == 1) BOOST_TEST(to_hex(k) == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
  }
  BOOST_TEST(to_hex(k) == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

BOOST_AUTO_TEST_CASE(x25519_rfc7748_section_6_1_diffie_hellman) {
  const Bytes alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const auto alice_pub = x25519_public_key(alice);
  const auto bob_pub = x25519_public_key(bob);
  BOOST_REQUIRE(alice_pub.ok());
  BOOST_REQUIRE(bob_pub.ok());
  BOOST_TEST(to_hex(*alice_pub) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  BOOST_TEST(to_hex(*bob_pub) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const auto k1 = x25519_shared_secret(alice, *bob_pub);
  const auto k2 = x25519_shared_secret(bob, *alice_pub);
  BOOST_REQUIRE(k1.ok());
  BOOST_REQUIRE(k2.ok());
  BOOST_TEST(to_hex(k1->view()) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  BOOST_TEST(to_hex(k2->view()) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

  // The same through a held key.
  const auto held = X25519PrivateKey::from_bytes(alice);
  BOOST_REQUIRE(held.ok());
  BOOST_TEST(to_hex(held->public_key()) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  BOOST_TEST(to_hex(held->private_bytes().view()) == to_hex(alice));
  const auto k3 = held->shared_secret(*bob_pub);
  BOOST_REQUIRE(k3.ok());
  BOOST_TEST(to_hex(k3->view()) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  BOOST_TEST(!held->shared_secret(Bytes(32, 0)).ok());
  BOOST_TEST(!X25519PrivateKey::from_bytes(Bytes(33, 1)).ok());
}

BOOST_AUTO_TEST_CASE(x25519_generated_pairs_agree_and_bad_keys_fail) {
  const auto a = x25519_generate();
  const auto b = x25519_generate();
  const auto ab = x25519_shared_secret(a.private_key.view(), b.public_key);
  const auto ba = x25519_shared_secret(b.private_key.view(), a.public_key);
  BOOST_REQUIRE(ab.ok());
  BOOST_REQUIRE(ba.ok());
  BOOST_TEST(constant_time_equal(ab->view(), ba->view()));
  BOOST_TEST(to_hex(*x25519_public_key(a.private_key.view())) == to_hex(a.public_key));
  // The all-zero point (and u = 1) has small order: the result would be all zeros.
  BOOST_TEST(!x25519_shared_secret(a.private_key.view(), Bytes(32, 0)).ok());
  BOOST_TEST(!x25519_shared_secret(a.private_key.view(), hex("01" + std::string(62, '0'))).ok());
  BOOST_TEST(!x25519_shared_secret(a.private_key.view(), Bytes(31, 9)).ok());
  BOOST_TEST(!x25519_shared_secret(Bytes(31, 1), a.public_key).ok());
}

// ---- AES-256-GCM: the GCM specification's test cases 13-16 (McGrew and Viega, "The Galois/Counter
// Mode of Operation", Appendix B) and NIST CAVP gcmEncryptExtIV256.rsp (GCMVS, 96-bit IVs) ----

namespace {

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* pt;
  const char* aad;
  const char* ct;
  const char* tag;
};

const GcmVector gcm_vectors[] = {
    {"spec test case 13", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"spec test case 14", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"spec test case 15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
     "b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
     "c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"spec test case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
     "b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
     "c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"CAVP PTlen=0 AADlen=160", "886cff5f3e6b8d0e1ad0a38fcdb26de97e8acbe79f6bed66959a598fa5047d65",
     "3a8efa1cd74bbab5448f9945", "", "519fee519d25c7a304d6c6aa1897ee1eb8c59655", "", "f6d47505ec96c98a42dc3ae719877b87"},
    {"CAVP PTlen=128 AADlen=128", "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
     "ac93a1a6145299bde902f21a", "2d71bcfa914e4ac045b2aa60955fad24", "1e0889016f67601c8ebea4943bc23ad6",
     "8995ae2e6df3dbf96fac7b7137bae67f", "eca5aa77d51d4a0a14d9c51e1da474ab"},
    {"CAVP PTlen=128 AADlen=160 count 0", "83688deb4af8007f9b713b47cfa6c73e35ea7a3aa4ecdb414dded03bf7a0fd3a",
     "0b459724904e010a46901cf3", "33d893a2114ce06fc15d55e454cf90c3", "794a14ccd178c8ebfd1379dc704c5e208f9d8424",
     "cc66bee423e3fcd4c0865715e9586696", "0fb291bd3dba94a1dfd8b286cfb97ac5"},
    {"CAVP PTlen=128 AADlen=160 count 1", "013f549af9ecc2ee0259d5fc2311059cb6f10f6cd6ced3b543babe7438a88251",
     "e45e759a3bfe4b652dc66d5b", "79490d4d233ba594ece1142e310a9857", "b5fe530a5bafce7ae79b3c15471fa68334ab378e",
     "619443034e4437b893a45a4c89fad851", "6da8a991b690ff6a442087a356f8e9e3"},
};

}  // namespace

BOOST_AUTO_TEST_CASE(aes256gcm_published_vectors) {
  for (const auto& v : gcm_vectors) {
    BOOST_TEST_CONTEXT(v.name) {
      const Bytes key = hex(v.key), iv = hex(v.iv), pt = hex(v.pt), aad = hex(v.aad);
      const std::string want = std::string(v.ct) + v.tag;
      const Bytes sealed = aes256gcm_seal(key, iv, aad, pt);
      BOOST_TEST(to_hex(sealed) == want);

      const auto opened = aes256gcm_open(key, iv, aad, hex(want));
      BOOST_REQUIRE(opened.ok());
      BOOST_TEST(to_hex(*opened) == v.pt);

      // Any change to ciphertext, tag, AD or nonce is refused.
      for (std::size_t i = 0; i < sealed.size(); ++i) {
        Bytes bad = sealed;
        bad[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
        BOOST_TEST(!aes256gcm_open(key, iv, aad, bad).ok());
      }
      Bytes bad_aad = aad;
      bad_aad.push_back(0);
      BOOST_TEST(!aes256gcm_open(key, iv, bad_aad, sealed).ok());
      Bytes bad_iv = iv;
      bad_iv[11] ^= 0x80;
      BOOST_TEST(!aes256gcm_open(key, bad_iv, aad, sealed).ok());
      BOOST_TEST(!aes256gcm_open(key, iv, aad, ByteView(sealed).first(sealed.size() - 1)).ok());
    }
  }
}

BOOST_AUTO_TEST_CASE(aes256gcm_failed_open_releases_nothing) {
  const Bytes key(32, 7), iv(12, 9);
  const Bytes pt = bytes_of("the plaintext that must not leak on failure");
  Bytes sealed = aes256gcm_seal(key, iv, {}, pt);
  sealed.back() ^= 1;
  Bytes out(pt.size(), 0xee);
  BOOST_TEST(!aes256gcm_open(key, iv, {}, sealed, out).ok());
  BOOST_TEST((out == Bytes(pt.size(), 0)));
  BOOST_CHECK_THROW(aes256gcm_seal(Bytes(16, 0), iv, {}, pt), std::invalid_argument);
  BOOST_CHECK_THROW(aes256gcm_seal(key, Bytes(8, 0), {}, pt), std::invalid_argument);
  BOOST_TEST(!aes256gcm_open(key, iv, {}, Bytes(15, 0)).ok());
}

// ---- base64url: RFC 4648 §10 vectors, and strict decoding ----

BOOST_AUTO_TEST_CASE(base64url_round_trips_rfc4648_vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    BOOST_TEST(base64url_encode(as_bytes(plain)) == encoded);
    const auto decoded = base64url_decode(encoded);
    BOOST_REQUIRE(decoded.ok());
    BOOST_TEST((*decoded == bytes_of(plain)));
  }
  const Bytes url_chars{0xfb, 0xff, 0xbf};
  BOOST_TEST(base64url_encode(url_chars) == "-_-_");
  BOOST_TEST((*base64url_decode("-_-_") == url_chars));
  for (std::size_t n = 0; n < 70; ++n) {
    Bytes data(n);
    random_bytes(data);
    const auto back = base64url_decode(base64url_encode(data));
    BOOST_REQUIRE(back.ok());
    BOOST_TEST((*back == data));
  }
}

BOOST_AUTO_TEST_CASE(base64url_decode_refuses_bad_input) {
  for (const char* bad : {"Z", "Zg=", "Zg==", "Zm9v YmFy", "Zm9v\n", "+/+/", "Zm9v/w", "Zh", "Zm9", "Zm9vYmF=", "a\xc3\xa4"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!base64url_decode(bad).ok()); }
  }
  BOOST_TEST(base64url_decode("Zm8").ok());  // the canonical form of the "Zm9" above
}

// ---- comparison and self-wiping types ----

BOOST_AUTO_TEST_CASE(constant_time_equal_compares_length_and_content) {
  BOOST_TEST(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
  BOOST_TEST(!constant_time_equal(as_bytes("abc"), as_bytes("abd")));
  BOOST_TEST(!constant_time_equal(as_bytes("abc"), as_bytes("ab")));
  BOOST_TEST(constant_time_equal(as_bytes(""), as_bytes("")));
}

BOOST_AUTO_TEST_CASE(secret_types_are_move_only_and_wipe_what_they_leave) {
  static_assert(!std::is_copy_constructible_v<SecretBytes> && !std::is_copy_assignable_v<SecretBytes>);
  static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
  static_assert(!std::is_copy_constructible_v<DataKey> && !std::is_copy_assignable_v<DataKey>);
  static_assert(std::is_nothrow_move_constructible_v<DataKey>);

  SecretBytes a = SecretBytes::copy_of(as_bytes("secret"));
  SecretBytes b = std::move(a);
  BOOST_TEST(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  BOOST_TEST(to_hex(b.view()) == to_hex(as_bytes("secret")));
  BOOST_TEST(SecretBytes(4).size() == 4u);
  BOOST_TEST(to_hex(SecretBytes(4).view()) == "00000000");

  DataKey k1 = DataKey::generate();
  const std::string key_hex = to_hex(k1.bytes());
  const DataKeyId id = k1.id();
  DataKey k2 = std::move(k1);
  BOOST_TEST(to_hex(k2.bytes()) == key_hex);
  BOOST_TEST((k2.id() == id));
  BOOST_TEST(to_hex(k1.bytes()) == std::string(64, '0'));  // NOLINT(bugprone-use-after-move)
  BOOST_TEST(key_hex != std::string(64, '0'));
  BOOST_TEST((DataKey::generate().id() != id));
  BOOST_TEST(!DataKey::from_bytes(id, Bytes(31, 1)).ok());
  const auto imported = DataKey::from_bytes(id, Bytes(32, 1));
  BOOST_REQUIRE(imported.ok());
  BOOST_TEST(to_hex(imported->bytes()) == to_hex(Bytes(32, 1)));
  BOOST_TEST((imported->id() == id));

  Bytes wiped = bytes_of("abc");
  secure_wipe(wiped);
  BOOST_TEST((wiped == Bytes(3, 0)));
  std::string text = "pin 1234";
  secure_wipe(text);
  BOOST_TEST(text.empty());
}

BOOST_AUTO_TEST_SUITE_END()
