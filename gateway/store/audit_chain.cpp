// Audit hash chain: canonical encoding, hashing and the verifier (see audit_chain.hpp).
#include "gateway/store/audit_chain.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace sinetti::store::audit_chain {

namespace {

void put_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_text(Bytes& out, std::string_view text) {
  const auto n = static_cast<std::uint32_t>(text.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), text.begin(), text.end());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The value of "key": in a details object this module wrote itself (fixed layout, no spaces).
std::optional<std::string_view> field(std::string_view details, std::string_view key) {
  const std::string pattern = "\"" + std::string(key) + "\":";
  const auto at = details.find(pattern);
  if (at == std::string_view::npos) return std::nullopt;
  auto rest = details.substr(at + pattern.size());
  const auto end = rest.find_first_of(",}");
  if (end == std::string_view::npos) return std::nullopt;
  rest = rest.substr(0, end);
  if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') rest = rest.substr(1, rest.size() - 2);
  return rest;
}

}  // namespace

Bytes canonical_encoding(const AuditRecord& r) {
  Bytes out;
  out.reserve(1 + 16 + 20 + r.event.size() + r.message_id.size() + r.actor.size() + r.outcome.size() +
              r.details.size());
  out.push_back(1);
  put_u64(out, r.seq);
  put_u64(out, static_cast<std::uint64_t>(r.at.time_since_epoch().count()));
  put_text(out, r.event);
  put_text(out, r.message_id);
  put_text(out, r.actor);
  put_text(out, r.outcome);
  put_text(out, r.details);
  return out;
}

Hash record_hash(const HashFunction& hash, const Hash& prev_hash, const AuditRecord& record) {
  Bytes input(prev_hash.begin(), prev_hash.end());
  const auto encoded = canonical_encoding(record);
  input.insert(input.end(), encoded.begin(), encoded.end());
  return hash(input);
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string purge_details(std::uint64_t through_seq, const Hash& hash, std::uint64_t records) {
  return "{\"through_seq\":" + std::to_string(through_seq) + ",\"hash\":\"" + to_hex(hash) +
         "\",\"records\":" + std::to_string(records) + "}";
}

std::optional<PurgeMark> parse_purge_details(std::string_view details) {
  const auto seq = field(details, "through_seq");
  const auto hex = field(details, "hash");
  if (!seq || !hex || hex->size() != 64) return std::nullopt;
  PurgeMark mark;
  const auto [end, ec] = std::from_chars(seq->data(), seq->data() + seq->size(), mark.through_seq);
  if (ec != std::errc() || end != seq->data() + seq->size()) return std::nullopt;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_value((*hex)[2 * i]);
    const int lo = hex_value((*hex)[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    mark.hash[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return mark;
}

Verifier::Verifier(const HashFunction& hash, std::optional<AuditCheckpoint> checkpoint)
    : hash_(hash), checkpoint_(std::move(checkpoint)), expected_seq_(checkpoint_ ? checkpoint_->seq + 1 : 1) {
  if (checkpoint_) prev_ = checkpoint_->hash;
  result_.head = AuditHead{expected_seq_ - 1, prev_};
}

void Verifier::bad(std::uint64_t seq, std::string problem) {
  result_.ok = false;
  result_.first_bad_seq = seq;
  result_.problem = std::move(problem);
}

bool Verifier::add(const AuditRecord& record) {
  if (!result_.ok) return false;
  ++result_.records;
  if (record.seq != expected_seq_) {
    bad(expected_seq_, record.seq > expected_seq_
                           ? "record " + std::to_string(expected_seq_) + " is missing"
                           : "record " + std::to_string(record.seq) + " is out of order");
    return false;
  }
  if (record.prev_hash != prev_) {
    bad(record.seq, "record " + std::to_string(record.seq) + " does not follow the previous record's hash");
    return false;
  }
  if (record_hash(hash_, prev_, record) != record.hash) {
    bad(record.seq, "record " + std::to_string(record.seq) + " was altered (its hash does not match)");
    return false;
  }
  if (record.event == purged_event) {
    last_purge_ = parse_purge_details(record.details);
    last_purge_seq_ = record.seq;
    if (!last_purge_) {
      bad(record.seq, "record " + std::to_string(record.seq) + " is a purge record without a readable checkpoint");
      return false;
    }
  }
  prev_ = record.hash;
  result_.head = AuditHead{record.seq, record.hash};
  ++expected_seq_;
  return true;
}

AuditVerification Verifier::finish() {
  if (result_.ok && checkpoint_) {
    const std::uint64_t first = checkpoint_->seq + 1;
    if (!last_purge_) {
      bad(first, "the checkpoint at record " + std::to_string(checkpoint_->seq) + " has no audit.purged record");
    } else if (last_purge_->through_seq != checkpoint_->seq || last_purge_->hash != checkpoint_->hash) {
      bad(first, "the checkpoint does not match the audit.purged record " + std::to_string(last_purge_seq_));
    }
  }
  return result_;
}

}  // namespace sinetti::store::audit_chain
