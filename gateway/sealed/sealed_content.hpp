// Sealed message content in the store: how a message's plaintext becomes stored pieces and back.
// Piece 0 is the blob header and the first sealed chunk, piece i (i > 0) the i-th sealed chunk
// (crypto/sealed_stream.hpp), so chunk i can be opened on its own: random access for the MIME parser
// and streaming for delivery and download, one chunk in memory at a time. Untrusted input: the
// pieces read back from the store (every one is verified before its plaintext is used).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/key_ring.hpp"
#include "crypto/sealed_stream.hpp"
#include "gateway/store/store.hpp"
#include "smtp/mime/message.hpp"

namespace sinetti::sealed {

// Seals a message as it arrives into store pieces. Holds at most one chunk of plaintext.
class ContentWriter {
 public:
  ContentWriter(const crypto::DataKey& key, const std::string& message_id);

  // More plaintext; complete pieces are appended to `out`.
  void update(std::string_view plaintext, std::vector<store::Chunk>& out);
  // The last piece(s).
  void finish(std::vector<store::Chunk>& out);

  std::uint64_t plaintext_size() const { return size_; }
  std::uint64_t sealed_bytes() const { return sealed_bytes_; }

 private:
  void take(crypto::ByteView sealed, std::vector<store::Chunk>& out);

  crypto::StreamSealer sealer_;
  store::Chunk pending_;     // the piece being assembled
  bool header_written_ = false;
  std::uint64_t size_ = 0;
  std::uint64_t sealed_bytes_ = 0;
};

// Seals a whole small message (a notification, a DSN) into pieces.
std::vector<store::Chunk> seal_pieces(const crypto::DataKey& key, const std::string& message_id, std::string_view plaintext);

// Number of pieces a message of `size` plaintext bytes has.
std::uint32_t piece_count(std::uint64_t size);

// Reads a stored message's plaintext at any offset (blocking store reads: call from the worker
// pool). Keeps the last chunk opened. Used by the MIME parser through mime::ByteSource.
class ContentReader final : public mime::ByteSource {
 public:
  // `key` opens the message; `size` is its plaintext size (MessageMeta::size).
  static Result<std::shared_ptr<ContentReader>> open(store::Store& store, const store::MessageId& id,
                                                     const crypto::DataKey& key, std::uint64_t size);
  // Unwraps the message's data key with `ring` (Access::open) first.
  static Result<std::shared_ptr<ContentReader>> open(store::Store& store, const store::MessageMeta& meta,
                                                     const crypto::KeyRing& ring);

  std::uint64_t size() const override { return size_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> out) override;

  // Sequential: the next chunk's plaintext (at most 64 KiB), empty at the end. Valid until the next call.
  Result<std::string_view> next();
  // True when next() needs no store read (the first chunk, read by open(), or the end): then it
  // only decrypts and may run on an I/O thread.
  bool next_in_memory() const { return next_ == 0 || next_ >= chunks_; }

 private:
  ContentReader(store::Store& store, store::MessageId id, std::uint64_t size, crypto::ChunkOpener opener,
                crypto::Bytes first_piece);
  Result<std::string_view> chunk(std::uint32_t index);

  store::Store& store_;
  store::MessageId id_;
  std::uint64_t size_;
  std::uint32_t chunks_;
  crypto::ChunkOpener opener_;
  crypto::Bytes first_piece_;     // piece 0, read once (it carries the header)
  std::vector<std::uint8_t> plain_;
  std::optional<std::uint32_t> cached_;
  std::size_t cached_length_ = 0;
  std::uint32_t next_ = 0;
};

// The data key of a stored message: reads piece 0 for the data key id and unwraps.
Result<crypto::DataKey> unwrap_data_key(store::Store& store, const store::MessageMeta& meta, const crypto::KeyRing& ring);

}  // namespace sinetti::sealed
