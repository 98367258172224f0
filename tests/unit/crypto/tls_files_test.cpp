// Self-signed development certificates: file modes, no overwriting, and the certificate's contents.
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "crypto/tls_files.hpp"

namespace fs = std::filesystem;
using sinetti::crypto::ensure_self_signed;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sinetti-tls-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

std::unique_ptr<X509, X509Free> read_cert(const fs::path& p) {
  FILE* f = std::fopen(p.c_str(), "r");
  BOOST_REQUIRE(f != nullptr);
  std::unique_ptr<X509, X509Free> x(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  BOOST_REQUIRE(x);
  return x;
}

std::unique_ptr<EVP_PKEY, PkeyFree> read_key(const fs::path& p) {
  FILE* f = std::fopen(p.c_str(), "r");
  BOOST_REQUIRE(f != nullptr);
  std::unique_ptr<EVP_PKEY, PkeyFree> k(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  BOOST_REQUIRE(k);
  return k;
}

std::set<std::string> alt_names(X509* x) {
  std::set<std::string> out;
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  BOOST_REQUIRE(names);
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(n, &type));
    const auto* bytes = ASN1_STRING_get0_data(value);
    const int len = ASN1_STRING_length(value);
    if (type == GEN_DNS) {
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(len)));
    } else if (type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN] = {};
      ::inet_ntop(len == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text);
      out.insert(std::string("IP:") + text);
    }
  }
  return out;
}

// Days from now to `t` (negative for the past).
int days_from_now(const ASN1_TIME* t) {
  int days = 0, seconds = 0;
  BOOST_REQUIRE(ASN1_TIME_diff(&days, &seconds, nullptr, t) == 1);
  return days;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_tls_files)

BOOST_AUTO_TEST_CASE(creates_key_0600_and_matching_self_signed_certificate) {
  TempDir tmp;
  const auto dir = tmp.path / "var" / "tls";
  const auto cert = dir / "cert.pem";
  const auto key = dir / "key.pem";
  const auto made = ensure_self_signed(cert, key, "localhost", {"IP:127.0.0.1", "IP:::1", "DNS:localhost", "turvaposti.example.fi"});
  BOOST_REQUIRE_MESSAGE(made.ok(), (made.ok() ? "" : made.error().message));
  BOOST_TEST(*made);

  BOOST_TEST(mode_of(key) == 0600u);
  BOOST_TEST((mode_of(cert) & 0022u) == 0u);  // not writable by others
  BOOST_TEST(mode_of(dir) == 0700u);
  BOOST_TEST(mode_of(tmp.path / "var") == 0700u);
  BOOST_TEST(slurp(key).starts_with("-----BEGIN PRIVATE KEY-----"));

  auto x = read_cert(cert);
  auto k = read_key(key);
  BOOST_TEST(X509_get_version(x.get()) == X509_VERSION_3);
  BOOST_TEST(X509_check_private_key(x.get(), k.get()) == 1);
  BOOST_TEST(X509_verify(x.get(), k.get()) == 1);  // signed by its own key
  BOOST_TEST(X509_get_signature_nid(x.get()) == NID_ecdsa_with_SHA256);
  BOOST_TEST(EVP_PKEY_is_a(k.get(), "EC"));
  char group[64] = {};
  BOOST_REQUIRE(EVP_PKEY_get_group_name(k.get(), group, sizeof group, nullptr) == 1);
  BOOST_TEST(std::string(group) == "prime256v1");

  BOOST_TEST(days_from_now(X509_get0_notBefore(x.get())) == 0);
  const int until = days_from_now(X509_get0_notAfter(x.get()));
  BOOST_TEST((until == 825 || until == 824));

  char cn[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x.get()), NID_commonName, cn, sizeof cn);
  BOOST_TEST(std::string(cn) == "localhost");
  BOOST_TEST(X509_NAME_cmp(X509_get_issuer_name(x.get()), X509_get_subject_name(x.get())) == 0);

  const auto names = alt_names(x.get());
  const std::set<std::string> expected = {"IP:127.0.0.1", "IP:::1", "DNS:localhost", "DNS:turvaposti.example.fi"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());

  // Extension flags, as OpenSSL's verifier sees them.
  BOOST_TEST(X509_check_ca(x.get()) == 0);
  BOOST_TEST((X509_get_extension_flags(x.get()) & EXFLAG_BCONS) != 0u);
  BOOST_TEST(X509_get_key_usage(x.get()) == static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  BOOST_TEST(X509_get_extended_key_usage(x.get()) == static_cast<std::uint32_t>(XKU_SSL_SERVER));
  BOOST_TEST(X509_check_host(x.get(), "localhost", 0, 0, nullptr) == 1);
  BOOST_TEST(X509_check_ip_asc(x.get(), "127.0.0.1", 0) == 1);
  BOOST_TEST(X509_check_ip_asc(x.get(), "::1", 0) == 1);
}

BOOST_AUTO_TEST_CASE(existing_pair_is_left_alone) {
  TempDir tmp;
  const auto cert = tmp.path / "cert.pem";
  const auto key = tmp.path / "key.pem";
  BOOST_REQUIRE(ensure_self_signed(cert, key, "localhost", {}).ok());
  const auto cert_before = slurp(cert);
  const auto key_before = slurp(key);
  const auto again = ensure_self_signed(cert, key, "localhost", {});
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!*again);
  BOOST_TEST(slurp(cert) == cert_before);
  BOOST_TEST(slurp(key) == key_before);
  // The default names.
  const std::set<std::string> expected = {"IP:127.0.0.1", "IP:::1", "DNS:localhost"};
  BOOST_TEST(alt_names(read_cert(cert).get()) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(half_a_pair_is_an_error_and_is_not_overwritten) {
  TempDir tmp;
  const auto cert = tmp.path / "cert.pem";
  const auto key = tmp.path / "key.pem";
  { std::ofstream(key) << "not a key\n"; }
  const auto r = ensure_self_signed(cert, key, "localhost", {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find(key.string()) != std::string::npos);
  BOOST_TEST(slurp(key) == "not a key\n");
  BOOST_TEST(!fs::exists(cert));

  fs::remove(key);
  { std::ofstream(cert) << "not a cert\n"; }
  const auto r2 = ensure_self_signed(cert, key, "localhost", {});
  BOOST_REQUIRE(!r2.ok());
  BOOST_TEST(slurp(cert) == "not a cert\n");
  BOOST_TEST(!fs::exists(key));
}

BOOST_AUTO_TEST_CASE(bad_alt_name_is_an_error_and_writes_nothing) {
  TempDir tmp;
  const auto cert = tmp.path / "d" / "cert.pem";
  const auto key = tmp.path / "d" / "key.pem";
  const auto r = ensure_self_signed(cert, key, "localhost", {"DNS:bad name,with comma"});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("subjectAltName") != std::string::npos);
  const auto r2 = ensure_self_signed(cert, key, "localhost", {"IP:300.1.1.1"});
  BOOST_REQUIRE(!r2.ok());
  BOOST_TEST(!fs::exists(key));
  BOOST_TEST(!fs::exists(cert));
}

BOOST_AUTO_TEST_CASE(unwritable_directory_is_an_error_with_the_path) {
  if (::geteuid() == 0) return;  // root writes anywhere; nothing to check
  TempDir tmp;
  fs::create_directory(tmp.path / "ro");
  fs::permissions(tmp.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  const auto r = ensure_self_signed(tmp.path / "ro" / "cert.pem", tmp.path / "ro" / "key.pem", "localhost", {});
  fs::permissions(tmp.path / "ro", fs::perms::owner_all);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("key.pem") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
