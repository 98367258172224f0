// Self-signed certificate and key creation with OpenSSL 3.0's EVP and X509 APIs.
#include "crypto/tls_files.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <system_error>

#include "sinetti/blocking.hpp"

namespace sinetti::crypto {
namespace {

namespace fs = std::filesystem;

constexpr long validity_days = 825;  // the CA/Browser Forum's old maximum; clients still accept it
constexpr int serial_bits = 159;     // RFC 5280 §4.1.2.2: positive, at most 20 octets

template <auto F>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using NamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using Ia5Ptr = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING_free>>;
using OctetsPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;

// `what` followed by every queued OpenSSL error; empties the queue.
Error openssl_error(std::string_view what) {
  std::string message(what);
  unsigned long code = 0;
  bool first = true;
  while ((code = ERR_get_error()) != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += first ? ": " : "; ";
    message += text;
    first = false;
  }
  return make_error(std::move(message));
}

Error system_error(std::string_view what, const fs::path& path, int err) {
  return make_error(std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

// Creates every missing directory of `dir` with mode 0700; existing ones are left as they are.
Result<bool> create_private_directories(const fs::path& dir) {
  fs::path current;
  for (const auto& part : dir) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) == 0) {
      if (::chmod(current.c_str(), 0700) != 0) return system_error("cannot chmod", current, errno);
      continue;
    }
    const int err = errno;
    struct stat st {};
    if (err != EEXIST || ::stat(current.c_str(), &st) != 0) return system_error("cannot create directory", current, err);
    if (!S_ISDIR(st.st_mode)) return make_error(current.string() + " is not a directory");
  }
  return true;
}

// Writes `data` to a new file (O_EXCL: never an existing one, never through a symlink) created with
// exactly `mode`, and flushes it to stable storage. On failure the half-written file is removed.
Result<bool> write_new_file(const fs::path& path, const char* data, std::size_t size, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return system_error("cannot create", path, errno);
  int err = 0;
  if (::fchmod(fd, mode) != 0) err = errno;  // the umask only clears bits; make the mode exact
  while (err == 0 && size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  if (err == 0) {
    const Waiting waiting;  // on a pool thread, another task may run meanwhile
    if (::fsync(fd) != 0) err = errno;
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(path.c_str());
    return system_error("cannot write", path, err);
  }
  return true;
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    const Waiting waiting;
    ::fsync(fd);
    ::close(fd);
  }
}

Result<bool> path_exists(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return make_error("cannot check " + path.string() + ": " + ec.message());
  return fs::exists(status);
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*';
    if (!ok) return false;
  }
  return true;
}

bool is_ip_address(const std::string& text) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1 || ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

Result<NamePtr> general_name(const std::string& spec) {
  std::string value = spec;
  bool ip = false;
  if (spec.starts_with("IP:")) {
    value = spec.substr(3);
    ip = true;
  } else if (spec.starts_with("DNS:")) {
    value = spec.substr(4);
  } else {
    ip = is_ip_address(spec);
  }
  NamePtr name(GENERAL_NAME_new());
  if (!name) return openssl_error("GENERAL_NAME_new");
  if (ip) {
    OctetsPtr address(a2i_IPADDRESS(value.c_str()));
    if (!address) {
      ERR_clear_error();
      return make_error("subjectAltName '" + spec + "': not an IP address");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, address.release());
  } else {
    if (!is_dns_name(value)) return make_error("subjectAltName '" + spec + "': not a DNS name");
    Ia5Ptr dns(ASN1_IA5STRING_new());
    if (!dns || ASN1_STRING_set(dns.get(), value.data(), static_cast<int>(value.size())) != 1) {
      return openssl_error("subjectAltName");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, dns.release());
  }
  return name;
}

Result<bool> add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return openssl_error(std::string("certificate extension ") + OBJ_nid2sn(nid));
  return true;
}

Result<X509Ptr> make_certificate(EVP_PKEY* key, const std::string& common_name, const std::vector<std::string>& alt_names) {
  X509Ptr cert(X509_new());
  if (!cert) return openssl_error("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return openssl_error("X509_set_version");

  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), serial_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return openssl_error("certificate serial number");
  }

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(validity_days), 0, nullptr) == nullptr) {
    return openssl_error("certificate validity");
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), subject) != 1) {
    return openssl_error("certificate common name '" + common_name + "'");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return openssl_error("X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                   std::pair{NID_key_usage, "critical,digitalSignature"},
                                   std::pair{NID_ext_key_usage, "serverAuth"},
                                   std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto added = add_extension(cert.get(), &ctx, nid, value); !added) return added.error();
  }

  static const std::vector<std::string> default_names = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return openssl_error("subjectAltName");
  for (const auto& spec : alt_names.empty() ? default_names : alt_names) {
    auto name = general_name(spec);
    if (!name) return name.error();
    if (sk_GENERAL_NAME_push(names.get(), name->get()) == 0) return openssl_error("subjectAltName");
    (void)name->release();  // owned by `names` now
  }
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return openssl_error("subjectAltName");
  }

  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return openssl_error("signing the certificate");
  return cert;
}

// The bytes a memory BIO holds; valid while the BIO lives.
std::string_view bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
  return size > 0 && data != nullptr ? std::string_view(data, static_cast<std::size_t>(size)) : std::string_view();
}

}  // namespace

Result<bool> ensure_self_signed(const fs::path& cert, const fs::path& key, const std::string& common_name,
                                const std::vector<std::string>& alt_names) {
  const auto cert_exists = path_exists(cert);
  if (!cert_exists) return cert_exists.error();
  const auto key_exists = path_exists(key);
  if (!key_exists) return key_exists.error();
  if (*cert_exists && *key_exists) return false;
  if (*cert_exists != *key_exists) {
    const auto& present = *cert_exists ? cert : key;
    const auto& missing = *cert_exists ? key : cert;
    return make_error("self-signed TLS: " + present.string() + " exists but " + missing.string() +
                      " does not; not overwriting (remove " + present.string() + " to create a new pair)");
  }

  // Everything OpenSSL does happens before anything touches the disk.
  ERR_clear_error();
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) return openssl_error("generating an ECDSA P-256 key");
  auto x509 = make_certificate(pkey.get(), common_name, alt_names);
  if (!x509) return x509.error();

  BioPtr key_pem(BIO_new(BIO_s_secmem()));  // the secure heap where available; cleared when freed
  if (!key_pem || PEM_write_bio_PrivateKey(key_pem.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error("encoding the private key");
  }
  BioPtr cert_pem(BIO_new(BIO_s_mem()));
  if (!cert_pem || PEM_write_bio_X509(cert_pem.get(), x509->get()) != 1) return openssl_error("encoding the certificate");

  for (const auto& dir : {key.parent_path(), cert.parent_path()}) {
    if (auto made = create_private_directories(dir); !made) return made.error();
  }
  const auto key_bytes = bio_contents(key_pem.get());
  if (auto written = write_new_file(key, key_bytes.data(), key_bytes.size(), 0600); !written) return written.error();
  const auto cert_bytes = bio_contents(cert_pem.get());
  if (auto written = write_new_file(cert, cert_bytes.data(), cert_bytes.size(), 0644); !written) {
    ::unlink(key.c_str());  // we created it a moment ago; leave no half pair behind
    return written.error();
  }
  sync_directory(key.parent_path());
  if (cert.parent_path() != key.parent_path()) sync_directory(cert.parent_path());
  return true;
}

}  // namespace sinetti::crypto
