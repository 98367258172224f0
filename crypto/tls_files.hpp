// Self-signed TLS certificate and key for development configurations (`tls: {self_signed: true}`).
// Writes a private key to disk: the key file is created 0600 with O_EXCL, its parent directories 0700.
// No untrusted input reaches this code; the names come from the operator's configuration.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::crypto {

// Makes sure `cert` and `key` exist:
//  - both exist: nothing is touched; returns false;
//  - neither exists: creates the missing parent directories (0700), a fresh ECDSA P-256 key (PKCS#8
//    PEM, mode 0600, never readable by others even briefly) and a self-signed X.509 v3 certificate
//    (SHA-256, valid 825 days, CN = common_name, subjectAltName from alt_names, CA:FALSE,
//    keyUsage digitalSignature, extKeyUsage serverAuth); returns true;
//  - only one exists: an error, and nothing is overwritten.
// alt_names are written as "DNS:name" or "IP:address" (IPv4 or IPv6); a name without a prefix is
// taken as an IP address if it parses as one, else as a DNS name. An empty list means
// {"DNS:localhost", "IP:127.0.0.1", "IP:::1"}.
Result<bool> ensure_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key,
                                const std::string& common_name, const std::vector<std::string>& alt_names);

}  // namespace sinetti::crypto
