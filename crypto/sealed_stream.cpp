// StreamSealer and StreamOpener: one EVP_CIPHER_CTX per message, keyed once; each chunk only
// resets the nonce, so the AES key schedule and the GHASH tables are computed once per message.
#include "crypto/sealed_stream.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "crypto/openssl_support.hpp"
#include "crypto/random.hpp"

namespace sinetti::crypto {

namespace detail {

void CipherCtxFree::operator()(evp_cipher_ctx_st* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }

void ChunkBufferFree::operator()(std::uint8_t* buffer) const noexcept {
  if (buffer == nullptr) return;
  OPENSSL_cleanse(buffer, sealed_chunk_size + gcm_tag_size);
  delete[] buffer;
}

}  // namespace detail

namespace {

constexpr std::size_t full_sealed_chunk = sealed_chunk_size + gcm_tag_size;
constexpr std::uint64_t max_chunks = std::uint64_t{1} << 32;  // the nonce counter is 32 bits
constexpr std::size_t ad_message_id_offset = sealed_header_size + 2;

static_assert(sealed_chunk_size <= static_cast<std::size_t>(std::numeric_limits<int>::max()));

void put_u32_be(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

detail::ChunkBuffer new_chunk_buffer() { return detail::ChunkBuffer(new std::uint8_t[full_sealed_chunk]); }

// Writes uint16_be(len) || message id after the header slot of `ad`; returns the AD's full size
// (with room for the chunk index and the last flag).
template <std::size_t N>
std::size_t prepare_ad(std::array<std::uint8_t, N>& ad, std::string_view message_id) {
  if (message_id.size() > max_message_id_size) {
    throw std::invalid_argument("crypto: a message id is at most 255 bytes");
  }
  ad[sealed_header_size] = static_cast<std::uint8_t>(message_id.size() >> 8);
  ad[sealed_header_size + 1] = static_cast<std::uint8_t>(message_id.size());
  if (!message_id.empty()) std::memcpy(ad.data() + ad_message_id_offset, message_id.data(), message_id.size());
  return ad_message_id_offset + message_id.size() + 5;
}

// Sets the nonce for chunk `index` and feeds the chunk's associated data.
void start_chunk(EVP_CIPHER_CTX* ctx, bool encrypt, const std::uint8_t* nonce_prefix, std::uint8_t* ad,
                 std::size_t ad_size, std::uint32_t index, bool last) {
  std::uint8_t nonce[gcm_nonce_size];
  std::memcpy(nonce, nonce_prefix, sealed_nonce_prefix_size);
  put_u32_be(nonce + sealed_nonce_prefix_size, index);
  put_u32_be(ad + ad_size - 5, index);
  ad[ad_size - 1] = last ? 1 : 0;
  int n = 0;
  const int ok = encrypt ? EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) == 1 &&
                               EVP_EncryptUpdate(ctx, nullptr, &n, ad, static_cast<int>(ad_size)) == 1
                         : EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) == 1 &&
                               EVP_DecryptUpdate(ctx, nullptr, &n, ad, static_cast<int>(ad_size)) == 1;
  if (!ok) detail::fail("starting a chunk");
}

detail::CipherCtxHandle keyed_context(const DataKey& key, bool encrypt) {
  detail::CipherCtxHandle ctx(EVP_CIPHER_CTX_new());
  if (!ctx) detail::fail("EVP_CIPHER_CTX_new");
  const int ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), detail::aes_256_gcm(), nullptr, key.bytes().data(), nullptr)
                         : EVP_DecryptInit_ex(ctx.get(), detail::aes_256_gcm(), nullptr, key.bytes().data(), nullptr);
  if (ok != 1) detail::fail("AES-256-GCM key setup");
  return ctx;
}

struct Appender {
  Bytes& out;
  void operator()(ByteView bytes) const { out.insert(out.end(), bytes.begin(), bytes.end()); }
};

}  // namespace

std::uint64_t sealed_size(std::uint64_t plaintext_size) noexcept {
  const std::uint64_t chunks = plaintext_size == 0 ? 1 : (plaintext_size + sealed_chunk_size - 1) / sealed_chunk_size;
  return sealed_header_size + plaintext_size + chunks * gcm_tag_size;
}

Result<SealedHeader> parse_sealed_header(ByteView blob_start) {
  if (blob_start.size() < sealed_header_size) return make_error("sealed blob: shorter than its header");
  if (blob_start[0] != sealed_format_version) {
    return make_error("sealed blob: unsupported format version " + std::to_string(blob_start[0]));
  }
  SealedHeader h;
  h.version = blob_start[0];
  std::memcpy(h.key_id.data(), blob_start.data() + 1, data_key_id_size);
  std::memcpy(h.nonce_prefix.data(), blob_start.data() + 1 + data_key_id_size, sealed_nonce_prefix_size);
  return h;
}

// ---- StreamSealer ----------------------------------------------------------------------------

StreamSealer::StreamSealer(const DataKey& key, std::string_view message_id)
    : ctx_(keyed_context(key, true)), buffer_(new_chunk_buffer()) {
  ad_size_ = prepare_ad(ad_, message_id);
  header_[0] = sealed_format_version;
  std::memcpy(header_.data() + 1, key.id().data(), data_key_id_size);
  random_bytes(std::span(header_).subspan(1 + data_key_id_size));
  std::memcpy(ad_.data(), header_.data(), sealed_header_size);
}

void StreamSealer::seal_chunk(const std::uint8_t* in, std::size_t size, bool last, ByteSink out) {
  if (next_chunk_ >= max_chunks) throw std::length_error("crypto: message too large for one sealed blob");
  start_chunk(ctx_.get(), true, header_.data() + 1 + data_key_id_size, ad_.data(), ad_size_,
              static_cast<std::uint32_t>(next_chunk_), last);
  std::uint8_t* const sealed = buffer_.get();
  int n = 0;
  if ((size > 0 && EVP_EncryptUpdate(ctx_.get(), sealed, &n, in, static_cast<int>(size)) != 1) ||
      EVP_EncryptFinal_ex(ctx_.get(), sealed + size, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(gcm_tag_size), sealed + size) != 1) {
    detail::fail("sealing a chunk");
  }
  ++next_chunk_;
  out(ByteView(sealed, size + gcm_tag_size));
}

void StreamSealer::update(ByteView plaintext, ByteSink out) {
  if (finished_) throw std::logic_error("crypto: StreamSealer::update after finish");
  while (!plaintext.empty()) {
    if (buffered_ == sealed_chunk_size) {
      // More plaintext follows, so the held-back chunk is not the last one.
      seal_chunk(buffer_.get(), sealed_chunk_size, false, out);
      buffered_ = 0;
    } else if (buffered_ == 0 && plaintext.size() > sealed_chunk_size) {
      seal_chunk(plaintext.data(), sealed_chunk_size, false, out);  // straight from the caller's buffer
      plaintext = plaintext.subspan(sealed_chunk_size);
    } else {
      const std::size_t take = std::min(sealed_chunk_size - buffered_, plaintext.size());
      std::memcpy(buffer_.get() + buffered_, plaintext.data(), take);
      buffered_ += take;
      plaintext = plaintext.subspan(take);
    }
  }
}

void StreamSealer::update(ByteView plaintext, Bytes& out) { update(plaintext, Appender{out}); }

void StreamSealer::finish(ByteSink out) {
  if (finished_) throw std::logic_error("crypto: StreamSealer::finish called twice");
  seal_chunk(buffer_.get(), buffered_, true, out);
  buffered_ = 0;
  finished_ = true;
}

void StreamSealer::finish(Bytes& out) { finish(Appender{out}); }

// ---- StreamOpener ----------------------------------------------------------------------------

StreamOpener::StreamOpener(const DataKey& key, std::string_view message_id)
    : ctx_(keyed_context(key, false)), buffer_(new_chunk_buffer()), key_id_(key.id()) {
  ad_size_ = prepare_ad(ad_, message_id);
}

Error StreamOpener::fail(std::string message) {
  error_ = make_error("sealed blob: " + std::move(message));
  buffered_ = 0;
  return *error_;
}

bool StreamOpener::take_header(ByteView& sealed) {
  while (header_bytes_ < sealed_header_size && !sealed.empty()) {
    header_[header_bytes_++] = sealed.front();
    sealed = sealed.subspan(1);
    if (header_bytes_ == 1 && header_[0] != sealed_format_version) {
      fail("unsupported format version " + std::to_string(header_[0]));
      return false;
    }
    if (header_bytes_ == 1 + data_key_id_size && std::memcmp(header_.data() + 1, key_id_.data(), data_key_id_size) != 0) {
      fail("sealed under another data key");
      return false;
    }
    if (header_bytes_ == sealed_header_size) std::memcpy(ad_.data(), header_.data(), sealed_header_size);
  }
  return header_bytes_ == sealed_header_size;
}

Result<std::size_t> StreamOpener::open_chunk(const std::uint8_t* in, std::size_t size, bool last, ByteSink out) {
  if (next_chunk_ >= max_chunks) return fail("more chunks than the nonce counter allows");
  const std::size_t length = size - gcm_tag_size;
  const auto index = static_cast<std::uint32_t>(next_chunk_);
  start_chunk(ctx_.get(), false, header_.data() + 1 + data_key_id_size, ad_.data(), ad_size_, index, last);
  std::uint8_t* const plain = buffer_.get();  // may be `in` itself: GCM decrypts in place
  int n = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(gcm_tag_size),
                          const_cast<std::uint8_t*>(in + length)) != 1 ||
      (length > 0 && EVP_DecryptUpdate(ctx_.get(), plain, &n, in, static_cast<int>(length)) != 1)) {
    detail::fail("opening a chunk");
  }
  if (EVP_DecryptFinal_ex(ctx_.get(), plain + length, &n) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(plain, length);
    return fail("chunk " + std::to_string(index) +
                (last ? " does not verify as the last chunk (truncated, trailing bytes, damaged, or not this message's)"
                      : " does not verify (damaged, reordered, or not this message's)"));
  }
  ++next_chunk_;
  if (length > 0) out(ByteView(plain, length));
  return length;
}

Result<std::size_t> StreamOpener::update(ByteView sealed, ByteSink out) {
  if (error_) return *error_;
  if (finished_) return fail("data after the end");
  if (!take_header(sealed)) {
    if (error_) return *error_;
    return std::size_t{0};
  }
  std::size_t released = 0;
  while (!sealed.empty()) {
    if (buffered_ == full_sealed_chunk) {
      // More input follows, so the held-back chunk is not the last one.
      auto opened = open_chunk(buffer_.get(), full_sealed_chunk, false, out);
      if (!opened) return opened.error();
      released += *opened;
      buffered_ = 0;
    } else if (buffered_ == 0 && sealed.size() > full_sealed_chunk) {
      auto opened = open_chunk(sealed.data(), full_sealed_chunk, false, out);  // straight from the caller's buffer
      if (!opened) return opened.error();
      released += *opened;
      sealed = sealed.subspan(full_sealed_chunk);
    } else {
      const std::size_t take = std::min(full_sealed_chunk - buffered_, sealed.size());
      std::memcpy(buffer_.get() + buffered_, sealed.data(), take);
      buffered_ += take;
      sealed = sealed.subspan(take);
    }
  }
  return released;
}

Result<std::size_t> StreamOpener::update(ByteView sealed, Bytes& out) { return update(sealed, Appender{out}); }

Result<std::size_t> StreamOpener::finish(ByteSink out) {
  if (error_) return *error_;
  if (finished_) return fail("finish called twice");
  if (header_bytes_ < sealed_header_size) return fail("truncated inside the header");
  if (buffered_ < gcm_tag_size) return fail("truncated: the last chunk is missing");
  auto opened = open_chunk(buffer_.get(), buffered_, true, out);
  if (!opened) return opened.error();
  buffered_ = 0;
  finished_ = true;
  return opened;
}

Result<std::size_t> StreamOpener::finish(Bytes& out) { return finish(Appender{out}); }

// ---- ChunkOpener -----------------------------------------------------------------------------

Result<ChunkOpener> ChunkOpener::make(const DataKey& key, std::string_view message_id, ByteView header) {
  auto parsed = parse_sealed_header(header);
  if (!parsed) return parsed.error();
  if (parsed->key_id != key.id()) return make_error("sealed blob: sealed under another data key");
  ChunkOpener o;
  o.ctx_ = keyed_context(key, false);
  o.ad_size_ = prepare_ad(o.ad_, message_id);
  std::memcpy(o.ad_.data(), header.data(), sealed_header_size);
  return o;
}

Result<std::size_t> ChunkOpener::open(std::uint32_t index, bool last, ByteView sealed_chunk, std::span<std::uint8_t> out) {
  if (sealed_chunk.size() < gcm_tag_size || sealed_chunk.size() > full_sealed_chunk ||
      (!last && sealed_chunk.size() != full_sealed_chunk)) {
    return make_error("sealed blob: chunk " + std::to_string(index) + " has the wrong size");
  }
  if (out.size() < sealed_chunk_size) throw std::invalid_argument("crypto: ChunkOpener::open needs a 64 KiB buffer");
  const std::size_t length = sealed_chunk.size() - gcm_tag_size;
  start_chunk(ctx_.get(), false, ad_.data() + 1 + data_key_id_size, ad_.data(), ad_size_, index, last);
  int n = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(gcm_tag_size),
                          const_cast<std::uint8_t*>(sealed_chunk.data() + length)) != 1 ||
      (length > 0 && EVP_DecryptUpdate(ctx_.get(), out.data(), &n, sealed_chunk.data(), static_cast<int>(length)) != 1)) {
    detail::fail("opening a chunk");
  }
  if (EVP_DecryptFinal_ex(ctx_.get(), out.data() + length, &n) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), length);
    return make_error("sealed blob: chunk " + std::to_string(index) + " does not verify");
  }
  return length;
}

// ---- whole-buffer helpers --------------------------------------------------------------------

Bytes seal_message(const DataKey& key, std::string_view message_id, ByteView plaintext) {
  StreamSealer sealer(key, message_id);
  Bytes out;
  out.reserve(sealed_size(plaintext.size()));
  out.insert(out.end(), sealer.header().begin(), sealer.header().end());
  sealer.update(plaintext, out);
  sealer.finish(out);
  return out;
}

Result<Bytes> open_message(const DataKey& key, std::string_view message_id, ByteView sealed) {
  StreamOpener opener(key, message_id);
  Bytes out;
  out.reserve(sealed.size());
  auto updated = opener.update(sealed, out);
  if (!updated) {
    secure_wipe(out);
    return updated.error();
  }
  auto finished = opener.finish(out);
  if (!finished) {
    secure_wipe(out);
    return finished.error();
  }
  return out;
}

}  // namespace sinetti::crypto
