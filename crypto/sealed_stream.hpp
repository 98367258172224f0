// Streaming AEAD for stored and spooled message content: AES-256-GCM chunks under a per-message key.
// NIST SP 800-38D; the chunked STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015).
// Untrusted input: blobs read back from disk or a database reach StreamOpener; all of it is checked.
//
// Blob = header || chunk*.  header = version (1) || data key id (16) || nonce prefix (8 random).
// chunk i = AES-256-GCM(data key, nonce = prefix || uint32_be(i), ad, plaintext_i) || tag (16),
// ad = header || uint16_be(len(message id)) || message id || uint32_be(i) || last (0 or 1).
// Every chunk but the last carries exactly 64 KiB of plaintext; the last carries 0..64 KiB and has
// last = 1, so an empty message is the header and one empty last chunk.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>

#include "crypto/primitives.hpp"
#include "sinetti/result.hpp"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX, kept out of this header

namespace sinetti::crypto {

inline constexpr std::uint8_t sealed_format_version = 1;
inline constexpr std::size_t sealed_chunk_size = 64 * 1024;  // plaintext bytes per full chunk
inline constexpr std::size_t sealed_nonce_prefix_size = 8;
inline constexpr std::size_t sealed_header_size = 1 + data_key_id_size + sealed_nonce_prefix_size;  // 25
inline constexpr std::size_t sealed_chunk_overhead = gcm_tag_size;
inline constexpr std::size_t max_message_id_size = 255;

// The ciphertext size of a message of `plaintext_size` bytes, header included.
std::uint64_t sealed_size(std::uint64_t plaintext_size) noexcept;

struct SealedHeader {
  std::uint8_t version = 0;
  DataKeyId key_id{};
  std::array<std::uint8_t, sealed_nonce_prefix_size> nonce_prefix{};
};

// Reads the header at the start of a blob (the store uses it to find which data key opens it).
// Needs at least sealed_header_size bytes; fails on a version other than 1.
Result<SealedHeader> parse_sealed_header(ByteView blob_start);

// A non-owning reference to a callable taking ByteView, for output. The bytes passed are valid only
// during the call. Keep the callable alive for as long as the ByteSink (pass it as an argument).
class ByteSink {
 public:
  template <typename F>
    requires(!std::same_as<std::remove_cvref_t<F>, ByteSink> && std::invocable<F&, ByteView>)
  ByteSink(F&& f) noexcept  // NOLINT: implicit so that a lambda can be passed directly
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, ByteView bytes) { (*static_cast<std::remove_reference_t<F>*>(o))(bytes); }) {}

  void operator()(ByteView bytes) const { call_(object_, bytes); }

 private:
  void* object_;
  void (*call_)(void*, ByteView);
};

namespace detail {
struct CipherCtxFree {
  void operator()(evp_cipher_ctx_st* ctx) const noexcept;
};
struct ChunkBufferFree {  // wipes the chunk buffer before freeing it
  void operator()(std::uint8_t* buffer) const noexcept;
};
using CipherCtxHandle = std::unique_ptr<evp_cipher_ctx_st, CipherCtxFree>;
using ChunkBuffer = std::unique_ptr<std::uint8_t[], ChunkBufferFree>;
}  // namespace detail

// Seals one message. Write header() first, then everything update() and finish() emit, in order.
// Holds at most one chunk of plaintext; no allocation after construction. Input in pieces larger
// than 64 KiB is sealed straight from the caller's buffer; smaller pieces are gathered first. Not
// thread-safe; one message per object. Misuse (update after finish, a message id over 255 bytes)
// throws.
class StreamSealer {
 public:
  StreamSealer(const DataKey& key, std::string_view message_id);
  StreamSealer(StreamSealer&&) noexcept = default;
  StreamSealer& operator=(StreamSealer&&) noexcept = default;
  StreamSealer(const StreamSealer&) = delete;
  StreamSealer& operator=(const StreamSealer&) = delete;
  ~StreamSealer() = default;

  ByteView header() const noexcept { return header_; }

  // Takes more plaintext; emits the sealed chunks that are complete. The last chunk is held back
  // until finish(), so a message whose size is a multiple of 64 KiB still ends with a flagged chunk.
  void update(ByteView plaintext, ByteSink out);
  void update(ByteView plaintext, Bytes& out);  // appends

  // Emits the last chunk. Call exactly once.
  void finish(ByteSink out);
  void finish(Bytes& out);

 private:
  void seal_chunk(const std::uint8_t* in, std::size_t size, bool last, ByteSink out);

  detail::CipherCtxHandle ctx_;
  detail::ChunkBuffer buffer_;  // sealed_chunk_size + tag
  std::size_t buffered_ = 0;
  std::uint64_t next_chunk_ = 0;
  bool finished_ = false;
  std::array<std::uint8_t, sealed_header_size> header_{};
  std::array<std::uint8_t, sealed_header_size + 2 + max_message_id_size + 5> ad_{};
  std::size_t ad_size_ = 0;
};

// Opens one sealed blob, fed in pieces of any size. Releases plaintext only for chunks whose tag
// verified, so a damaged blob yields a prefix of whole verified chunks and then an error. The
// output never depends on how the input is split. Holds at most one chunk; no allocation after
// construction. Once failed it stays failed and releases nothing more.
class StreamOpener {
 public:
  StreamOpener(const DataKey& key, std::string_view message_id);
  StreamOpener(StreamOpener&&) noexcept = default;
  StreamOpener& operator=(StreamOpener&&) noexcept = default;
  StreamOpener(const StreamOpener&) = delete;
  StreamOpener& operator=(const StreamOpener&) = delete;
  ~StreamOpener() = default;

  // Takes more of the blob; emits verified plaintext. Returns the number of plaintext bytes
  // emitted by this call, or the error that stopped the opener.
  Result<std::size_t> update(ByteView sealed, ByteSink out);
  Result<std::size_t> update(ByteView sealed, Bytes& out);

  // Ends the blob: verifies the held-back last chunk. Fails on truncation (no last chunk), trailing
  // bytes, or any damage. Only after finish() succeeds is the message known to be complete.
  Result<std::size_t> finish(ByteSink out);
  Result<std::size_t> finish(Bytes& out);

  bool failed() const noexcept { return error_.has_value(); }

 private:
  Error fail(std::string message);
  Result<std::size_t> open_chunk(const std::uint8_t* in, std::size_t sealed_size, bool last, ByteSink out);
  bool take_header(ByteView& sealed);

  detail::CipherCtxHandle ctx_;
  detail::ChunkBuffer buffer_;  // sealed_chunk_size + tag
  std::size_t buffered_ = 0;
  std::uint64_t next_chunk_ = 0;
  bool finished_ = false;
  std::optional<Error> error_;
  DataKeyId key_id_{};
  std::array<std::uint8_t, sealed_header_size> header_{};
  std::size_t header_bytes_ = 0;
  std::array<std::uint8_t, sealed_header_size + 2 + max_message_id_size + 5> ad_{};
  std::size_t ad_size_ = 0;
};

// Opens single chunks of a blob in any order, for random access (a parser that seeks through a
// stored message). The caller says which chunk it is and whether it is the last; a chunk opened
// under the wrong index or flag does not verify. The header is checked once, at construction.
class ChunkOpener {
 public:
  // `header`: the blob's first sealed_header_size bytes. Fails on a wrong version or data key.
  static Result<ChunkOpener> make(const DataKey& key, std::string_view message_id, ByteView header);
  ChunkOpener(ChunkOpener&&) noexcept = default;
  ChunkOpener& operator=(ChunkOpener&&) noexcept = default;
  ~ChunkOpener() = default;

  // Opens chunk `index` (its ciphertext and tag) into `out`, which must hold at least
  // sealed_chunk_size bytes; returns the plaintext length. On failure `out` holds no plaintext.
  Result<std::size_t> open(std::uint32_t index, bool last, ByteView sealed_chunk, std::span<std::uint8_t> out);

 private:
  ChunkOpener() = default;
  detail::CipherCtxHandle ctx_;
  std::array<std::uint8_t, sealed_header_size + 2 + max_message_id_size + 5> ad_{};
  std::size_t ad_size_ = 0;
};

// Whole-buffer helpers for small messages (a notification, a 10 KB reply): header included.
Bytes seal_message(const DataKey& key, std::string_view message_id, ByteView plaintext);
Result<Bytes> open_message(const DataKey& key, std::string_view message_id, ByteView sealed);

}  // namespace sinetti::crypto
