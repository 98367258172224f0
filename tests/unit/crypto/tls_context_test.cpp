// TLS contexts: the protocol and cipher policy seen from real handshakes (in memory, through a BIO
// pair), certificate loading errors, client verification with the host name check, and reloading the
// server context when its files change.
#include <boost/test/unit_test.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "crypto/tls_context.hpp"
#include "crypto/tls_files.hpp"

namespace fs = std::filesystem;
using namespace sinetti::crypto;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sinetti-tlsctx-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct Pair {
  fs::path cert, key;
};

Pair make_pair(const fs::path& dir, const std::string& name, const std::vector<std::string>& alt = {}) {
  Pair p{dir / (name + "-cert.pem"), dir / (name + "-key.pem")};
  auto made = ensure_self_signed(p.cert, p.key, "localhost", alt);
  BOOST_REQUIRE_MESSAGE(made, (made ? "" : made.error().message));
  return p;
}

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

// Runs a handshake between two SSL objects over a BIO pair; true if both sides completed.
bool handshake(SSL* client, SSL* server) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BOOST_REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  bool client_done = false, server_done = false;
  for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
    for (auto [ssl, done] : {std::pair{client, &client_done}, std::pair{server, &server_done}}) {
      if (*done) continue;
      const int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
        continue;
      }
      const int err = SSL_get_error(ssl, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
      }
    }
  }
  ERR_clear_error();
  return client_done && server_done;
}

// A raw client context with its own protocol/cipher choices, to probe the server's policy.
std::shared_ptr<SSL_CTX> probe_client(int min_version, int max_version, const char* ciphers12 = nullptr) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_security_level(ctx.get(), 0);  // let the probe offer what the server must refuse
  SSL_CTX_set_min_proto_version(ctx.get(), min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  if (ciphers12 != nullptr) BOOST_REQUIRE(SSL_CTX_set_cipher_list(ctx.get(), ciphers12) == 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

struct Outcome {
  bool ok = false;
  TlsSessionInfo info;
};

Outcome connect_probe(SSL_CTX* client_ctx, TlsContext& server) {
  SslPtr c(SSL_new(client_ctx));
  SslPtr s(SSL_new(server.native_handle()));
  Outcome o;
  o.ok = handshake(c.get(), s.get());
  if (o.ok) o.info = tls_session_info(s.get());
  return o;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_tls_context)

BOOST_AUTO_TEST_CASE(server_speaks_tls13_and_forward_secret_tls12_only) {
  TempDir tmp;
  const auto pair = make_pair(tmp.path, "srv");
  auto server = make_server_context(pair.cert, pair.key);
  BOOST_REQUIRE(server);

  const auto tls13 = connect_probe(probe_client(TLS1_3_VERSION, TLS1_3_VERSION).get(), **server);
  BOOST_TEST(tls13.ok);
  BOOST_TEST(tls13.info.protocol == "TLSv1.3");

  const auto tls12 = connect_probe(probe_client(TLS1_2_VERSION, TLS1_2_VERSION).get(), **server);
  BOOST_TEST(tls12.ok);
  BOOST_TEST(tls12.info.protocol == "TLSv1.2");
  BOOST_TEST(tls12.info.cipher.starts_with("ECDHE-"));
  BOOST_TEST((tls12.info.cipher.find("GCM") != std::string::npos || tls12.info.cipher.find("CHACHA20") != std::string::npos));

  // Older protocols and non-forward-secret or CBC suites are refused.
  BOOST_TEST(!connect_probe(probe_client(TLS1_VERSION, TLS1_1_VERSION).get(), **server).ok);
  BOOST_TEST(!connect_probe(probe_client(TLS1_2_VERSION, TLS1_2_VERSION, "AES256-GCM-SHA384:AES128-SHA").get(), **server).ok);
  BOOST_TEST(!connect_probe(probe_client(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA").get(), **server).ok);

  const long options = SSL_CTX_get_options((*server)->native_handle());
  BOOST_TEST((options & SSL_OP_NO_COMPRESSION) != 0);
  BOOST_TEST((options & SSL_OP_NO_RENEGOTIATION) != 0);
  BOOST_TEST((options & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
}

BOOST_AUTO_TEST_CASE(loading_errors_are_one_line_and_name_the_file) {
  TempDir tmp;
  const auto pair = make_pair(tmp.path, "a");
  const auto other = make_pair(tmp.path, "b");

  auto missing = make_server_context(tmp.path / "nope.pem", pair.key);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().message.find("nope.pem: cannot read the certificate chain: No such file") != std::string::npos);

  const auto garbage = tmp.path / "garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  auto bad = make_server_context(garbage, pair.key);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.starts_with(garbage.string() + ": cannot load the certificate chain: "));

  auto bad_key = make_server_context(pair.cert, garbage);
  BOOST_REQUIRE(!bad_key);
  BOOST_TEST(bad_key.error().message.starts_with(garbage.string() + ": cannot load the private key: "));

  auto mismatch = make_server_context(pair.cert, other.key);
  BOOST_REQUIRE(!mismatch);
  BOOST_TEST(mismatch.error().message == other.key.string() + ": the private key does not match the certificate in " + pair.cert.string());

  for (const auto* r : {&missing, &bad, &bad_key, &mismatch}) {
    BOOST_TEST(r->error().message.find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(client_verifies_chain_and_host_name) {
  TempDir tmp;
  const auto pair = make_pair(tmp.path, "srv", {"DNS:mail.example.fi", "IP:127.0.0.1"});
  const auto stranger = make_pair(tmp.path, "other", {"DNS:mail.example.fi"});
  auto server = make_server_context(pair.cert, pair.key);
  BOOST_REQUIRE(server);

  auto attempt = [&](TlsContext& client, const std::string& host) {
    SslPtr c(SSL_new(client.native_handle()));
    SslPtr s(SSL_new((*server)->native_handle()));
    BOOST_REQUIRE(!set_client_peer_name(c.get(), host));
    const bool ok = handshake(c.get(), s.get());
    return ok && SSL_get_verify_result(c.get()) == X509_V_OK;
  };

  auto trusting = make_client_context(pair.cert, true);
  BOOST_REQUIRE(trusting);
  BOOST_TEST(attempt(**trusting, "mail.example.fi"));
  BOOST_TEST(attempt(**trusting, "127.0.0.1"));
  BOOST_TEST(!attempt(**trusting, "other.example.fi"));  // name mismatch
  BOOST_TEST(!attempt(**trusting, "10.0.0.1"));          // address mismatch

  auto wrong_ca = make_client_context(stranger.cert, true);
  BOOST_REQUIRE(wrong_ca);
  BOOST_TEST(!attempt(**wrong_ca, "mail.example.fi"));

  auto system = make_client_context(std::nullopt, true);  // the system store does not know our cert
  BOOST_REQUIRE(system);
  BOOST_TEST(!attempt(**system, "mail.example.fi"));

  auto opportunistic = make_client_context(std::nullopt, false);
  BOOST_REQUIRE(opportunistic);
  SslPtr c(SSL_new((*opportunistic)->native_handle()));
  SslPtr s(SSL_new((*server)->native_handle()));
  BOOST_REQUIRE(!set_client_peer_name(c.get(), "whatever.example"));
  BOOST_TEST(handshake(c.get(), s.get()));

  auto missing_ca = make_client_context(tmp.path / "none.pem", true);
  BOOST_REQUIRE(!missing_ca);
  BOOST_TEST(missing_ca.error().message.find("none.pem") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_context_reloads_when_files_change) {
  TempDir tmp;
  const auto first = make_pair(tmp.path, "first");
  const auto second = make_pair(tmp.path, "second");
  const fs::path cert = tmp.path / "cert.pem", key = tmp.path / "key.pem";
  fs::copy_file(first.cert, cert);
  fs::copy_file(first.key, key);

  auto holder = ServerTlsContext::load(cert, key);
  BOOST_REQUIRE(holder);
  const auto before = (*holder)->current();
  auto unchanged = (*holder)->reload_if_changed();
  BOOST_REQUIRE(unchanged);
  BOOST_TEST(!*unchanged);
  BOOST_TEST((*holder)->current() == before);

  // Replace the pair the way an operator (or certbot) does: write new files, rename over the old.
  fs::copy_file(second.cert, tmp.path / "cert.new");
  fs::copy_file(second.key, tmp.path / "key.new");
  fs::rename(tmp.path / "cert.new", cert);
  fs::rename(tmp.path / "key.new", key);
  auto changed = (*holder)->reload_if_changed();
  BOOST_REQUIRE(changed);
  BOOST_TEST(*changed);
  const auto after = (*holder)->current();
  BOOST_TEST(after != before);
  // The new context serves the new certificate.
  SslPtr s(SSL_new(after->native_handle()));
  X509* served = SSL_get_certificate(s.get());
  BOOST_REQUIRE(served != nullptr);
  const auto pem_second = read_all(second.cert);
  BIO* mem = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(mem, served);
  char* data = nullptr;
  const long n = BIO_get_mem_data(mem, &data);
  BOOST_TEST(pem_second.find(std::string(data, static_cast<std::size_t>(n))) != std::string::npos);
  BIO_free(mem);

  // A broken replacement keeps the running context and says why.
  std::ofstream(tmp.path / "cert.bad") << "broken\n";
  fs::rename(tmp.path / "cert.bad", cert);
  auto broken = (*holder)->reload_if_changed();
  BOOST_REQUIRE(!broken);
  BOOST_TEST(broken.error().message.find("cert.pem") != std::string::npos);
  BOOST_TEST((*holder)->current() == after);

  // SIGHUP path: explicit paths, forced.
  auto forced = (*holder)->reload(first.cert, first.key, true);
  BOOST_REQUIRE(forced);
  BOOST_TEST(*forced);
  BOOST_TEST((*holder)->current() != after);
}

BOOST_AUTO_TEST_SUITE_END()
