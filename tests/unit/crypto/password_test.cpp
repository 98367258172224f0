// argon2id password hashes: PHC round trip, refusal of weak or malformed strings, and the users file.
#include <boost/test/unit_test.hpp>

#include <argon2.h>

#include <string>

#include "crypto/password.hpp"

using namespace sinetti::crypto;

namespace {

std::string hash_of(const std::string& password) {
  auto h = hash_password(password);
  BOOST_REQUIRE(h);
  return *h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_password)

BOOST_AUTO_TEST_CASE(hash_and_verify_round_trip) {
  const auto phc = hash_of("correct horse");
  BOOST_TEST(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
  auto parsed = parse_password_hash(phc);
  BOOST_REQUIRE(parsed);
  BOOST_TEST(parsed->salt.size() == 16u);
  BOOST_TEST(parsed->hash.size() == 32u);
  BOOST_TEST(verify_password(*parsed, "correct horse"));
  BOOST_TEST(!verify_password(*parsed, "correct horsf"));
  BOOST_TEST(!verify_password(*parsed, ""));
  // A fresh salt every time.
  BOOST_TEST(hash_of("correct horse") != phc);
}

BOOST_AUTO_TEST_CASE(agrees_with_the_reference_encoder) {
  // libargon2's own PHC encoder and verifier against ours, both ways.
  const std::string salt = "somesaltsomesalt";
  char encoded[256];
  BOOST_REQUIRE(argon2id_hash_encoded(2, 32768, 1, "password", 8, salt.data(), salt.size(), 32, encoded, sizeof encoded) ==
                ARGON2_OK);
  auto parsed = parse_password_hash(encoded);
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
  BOOST_TEST(parsed->salt == salt);
  BOOST_TEST(parsed->params.m_cost_kib == 32768u);
  BOOST_TEST(verify_password(*parsed, "password"));
  BOOST_TEST(!verify_password(*parsed, "passwore"));

  const auto ours = hash_of("another one");
  BOOST_TEST(argon2id_verify(ours.c_str(), "another one", 11) == ARGON2_OK);
  BOOST_TEST(argon2id_verify(ours.c_str(), "another onf", 11) != ARGON2_OK);
}

BOOST_AUTO_TEST_CASE(refuses_weak_or_malformed_strings) {
  const std::string salt = "c29tZXNhbHRzb21lc2FsdA";          // "somesaltsomesalt"
  const std::string hash = "ZTtJRGtKaFZkcXF5NDwFeYoK2yHbq/xbLHcDjC/rQZM";  // 32 bytes
  auto with = [&](const std::string& params) { return "$argon2id$v=19$" + params + "$" + salt + "$" + hash; };
  BOOST_TEST(parse_password_hash(with("m=19456,t=2,p=1")).ok());
  BOOST_TEST(parse_password_hash(with("m=65536,t=3,p=4")).ok());
  BOOST_TEST(!parse_password_hash(with("m=19455,t=2,p=1")).ok());  // below 19 MiB
  BOOST_TEST(!parse_password_hash(with("m=65536,t=1,p=1")).ok());  // one pass
  BOOST_TEST(!parse_password_hash(with("m=65536,t=2,p=0")).ok());
  BOOST_TEST(!parse_password_hash(with("m=4194304,t=2,p=1")).ok());  // 4 GiB: over the ceiling
  BOOST_TEST(!parse_password_hash(with("m=65536,t=2")).ok());
  BOOST_TEST(!parse_password_hash(with("m=65536,t=2,p=1,x=1")).ok());
  BOOST_TEST(!parse_password_hash(with("m=65536,m=65536,t=2,p=1")).ok());
  BOOST_TEST(!parse_password_hash(with("m=065536,t=2,p=1")).ok());
  BOOST_TEST(!parse_password_hash("$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + hash).ok());
  BOOST_TEST(!parse_password_hash("$argon2d$v=19$m=65536,t=2,p=1$" + salt + "$" + hash).ok());
  BOOST_TEST(!parse_password_hash("$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + hash).ok());
  BOOST_TEST(!parse_password_hash("$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$" + hash).ok());  // 4-byte salt
  BOOST_TEST(!parse_password_hash("$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$c2hvcnQ").ok());  // short hash
  BOOST_TEST(!parse_password_hash("$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash + "==").ok());
  BOOST_TEST(!parse_password_hash("$argon2id$v=19$m=65536,t=2,p=1$" + salt).ok());
  BOOST_TEST(!parse_password_hash("{SSHA}abcdef").ok());
  BOOST_TEST(!parse_password_hash("").ok());
}

BOOST_AUTO_TEST_CASE(users_file) {
  const std::string alice = hash_of("alice-secret");
  const std::string bob = hash_of("bob-secret");
  auto file = PasswordFile::parse("# staff submission users\n\nalice:" + alice + "\r\nbob:" + bob + "\n", "users");
  BOOST_REQUIRE_MESSAGE(file, (file ? "" : file.error().message));
  BOOST_TEST(file->size() == 2u);
  BOOST_TEST(file->verify("alice", "alice-secret"));
  BOOST_TEST(!file->verify("alice", "bob-secret"));
  BOOST_TEST(file->verify("bob", "bob-secret"));
  BOOST_TEST(!file->verify("carol", "alice-secret"));
  BOOST_TEST(!file->verify("Alice", "alice-secret"));

  auto weak = PasswordFile::parse("alice:" + alice + "\nbob:$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$ZTtJRGtKaFZkcXF5NDwFeYoK2yHbq/xbLHcDjC/rQZM\n", "users");
  BOOST_REQUIRE(!weak);
  BOOST_TEST(weak.error().message.find("users:2: user 'bob': parameters are weaker") == 0u);
  BOOST_TEST(weak.error().message.find("ZTtJ") == std::string::npos);  // the hash is not quoted

  auto twice = PasswordFile::parse("alice:" + alice + "\nalice:" + bob + "\n", "users");
  BOOST_REQUIRE(!twice);
  BOOST_TEST(twice.error().message.find("appears twice") != std::string::npos);
  BOOST_TEST(!PasswordFile::parse("alice\n", "users").ok());
  BOOST_TEST(!PasswordFile::parse(":" + alice + "\n", "users").ok());
  BOOST_TEST(!PasswordFile::parse("al ice:" + alice + "\n", "users").ok());

  auto missing = PasswordFile::load("/nonexistent/users");
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().message.find("/nonexistent/users: cannot read") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
