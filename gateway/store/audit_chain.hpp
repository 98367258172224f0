// The audit log's hash chain, the same for every backend (DESIGN "Audit"): each record's hash is
// H(prev_hash || canonical encoding of the record), the first record's prev_hash is 32 zero bytes
// and, after a retention purge, the checkpoint's hash. An "audit.purged" record written with each
// purge names the new checkpoint, so a checkpoint moved by hand is detected too.
// The canonical encoding: version byte 1, seq (u64 big-endian), time in ms (i64 big-endian), then
// event, message id, actor, outcome, details, each as u32 big-endian length + bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/store/types.hpp"

namespace sinetti::store::audit_chain {

inline constexpr std::string_view purged_event = "audit.purged";

Bytes canonical_encoding(const AuditRecord& record);
Hash record_hash(const HashFunction& hash, const Hash& prev_hash, const AuditRecord& record);

// The details of an "audit.purged" record: {"through_seq":N,"hash":"<64 hex>","records":M}.
std::string purge_details(std::uint64_t through_seq, const Hash& hash, std::uint64_t records);
struct PurgeMark {
  std::uint64_t through_seq = 0;
  Hash hash{};
};
std::optional<PurgeMark> parse_purge_details(std::string_view details);

std::string to_hex(std::span<const std::uint8_t> bytes);

// Checks records fed in sequence order, starting where the checkpoint (if any) left off.
class Verifier {
 public:
  Verifier(const HashFunction& hash, std::optional<AuditCheckpoint> checkpoint);
  // Returns false once the chain is broken (later records are not looked at).
  bool add(const AuditRecord& record);
  AuditVerification finish();

 private:
  void bad(std::uint64_t seq, std::string problem);

  const HashFunction& hash_;
  std::optional<AuditCheckpoint> checkpoint_;
  std::uint64_t expected_seq_;
  Hash prev_{};
  std::optional<PurgeMark> last_purge_;
  std::uint64_t last_purge_seq_ = 0;
  AuditVerification result_;
};

}  // namespace sinetti::store::audit_chain
