#include "gateway/sealed/sealed_content.hpp"

#include <algorithm>
#include <cstring>

namespace sinetti::sealed {

namespace {
constexpr std::size_t full_chunk = crypto::sealed_chunk_size + crypto::gcm_tag_size;
}

ContentWriter::ContentWriter(const crypto::DataKey& key, const std::string& message_id) : sealer_(key, message_id) {
  pending_.reserve(crypto::sealed_header_size + full_chunk);
  pending_.insert(pending_.end(), sealer_.header().begin(), sealer_.header().end());
}

void ContentWriter::take(crypto::ByteView sealed, std::vector<store::Chunk>& out) {
  // The sealer emits whole chunks, except that a single call may carry several.
  sealed_bytes_ += sealed.size();
  while (!sealed.empty()) {
    const std::size_t limit = (header_written_ ? 0 : crypto::sealed_header_size) + full_chunk;
    const std::size_t take = std::min(limit - pending_.size(), sealed.size());
    pending_.insert(pending_.end(), sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(take));
    sealed = sealed.subspan(take);
    if (pending_.size() == limit) {
      out.push_back(std::move(pending_));
      pending_ = {};
      pending_.reserve(full_chunk);
      header_written_ = true;
    }
  }
}

void ContentWriter::update(std::string_view plaintext, std::vector<store::Chunk>& out) {
  size_ += plaintext.size();
  sealer_.update(crypto::as_bytes(plaintext), [&](crypto::ByteView sealed) { take(sealed, out); });
}

void ContentWriter::finish(std::vector<store::Chunk>& out) {
  sealer_.finish([&](crypto::ByteView sealed) { take(sealed, out); });
  if (!pending_.empty()) out.push_back(std::move(pending_));
  pending_ = {};
}

std::vector<store::Chunk> seal_pieces(const crypto::DataKey& key, const std::string& message_id, std::string_view plaintext) {
  ContentWriter w(key, message_id);
  std::vector<store::Chunk> out;
  w.update(plaintext, out);
  w.finish(out);
  return out;
}

std::uint32_t piece_count(std::uint64_t size) {
  return size == 0 ? 1 : static_cast<std::uint32_t>((size + crypto::sealed_chunk_size - 1) / crypto::sealed_chunk_size);
}

ContentReader::ContentReader(store::Store& store, store::MessageId id, std::uint64_t size, crypto::ChunkOpener opener,
                             crypto::Bytes first_piece)
    : store_(store),
      id_(std::move(id)),
      size_(size),
      chunks_(piece_count(size)),
      opener_(std::move(opener)),
      first_piece_(std::move(first_piece)),
      plain_(crypto::sealed_chunk_size) {}

Result<std::shared_ptr<ContentReader>> ContentReader::open(store::Store& store, const store::MessageId& id,
                                                           const crypto::DataKey& key, std::uint64_t size) {
  auto first = store.read_chunk(id, 0);
  if (!first) return first.error();
  if (!*first) return make_error("message " + id + " has no content (shredded?)");
  if ((*first)->size() < crypto::sealed_header_size) return make_error("message " + id + ": stored content is damaged");
  auto opener = crypto::ChunkOpener::make(key, id, crypto::ByteView((*first)->data(), crypto::sealed_header_size));
  if (!opener) return make_error("message " + id + ": " + opener.error().message);
  return std::shared_ptr<ContentReader>(new ContentReader(store, id, size, std::move(*opener), std::move(**first)));
}

Result<crypto::DataKey> unwrap_data_key(store::Store& store, const store::MessageMeta& meta, const crypto::KeyRing& ring) {
  if (!meta.wrapped_key) return make_error("message " + meta.id + " has no data key (shredded)");
  auto first = store.read_chunk(meta.id, 0);
  if (!first) return first.error();
  if (!*first) return make_error("message " + meta.id + " has no content");
  auto header = crypto::parse_sealed_header(**first);
  if (!header) return make_error("message " + meta.id + ": " + header.error().message);
  auto key = ring.unwrap(*meta.wrapped_key, header->key_id, meta.id);
  if (!key) return make_error("message " + meta.id + ": " + key.error().message);
  return std::move(*key);
}

Result<std::shared_ptr<ContentReader>> ContentReader::open(store::Store& store, const store::MessageMeta& meta,
                                                           const crypto::KeyRing& ring) {
  // Piece 0 carries both the data key id (for the unwrap) and the first chunk: read it once.
  if (!meta.wrapped_key) return make_error("message " + meta.id + " has no data key (shredded)");
  auto first = store.read_chunk(meta.id, 0);
  if (!first) return first.error();
  if (!*first) return make_error("message " + meta.id + " has no content");
  if ((*first)->size() < crypto::sealed_header_size) return make_error("message " + meta.id + ": stored content is damaged");
  const crypto::ByteView header_bytes((*first)->data(), crypto::sealed_header_size);
  auto header = crypto::parse_sealed_header(header_bytes);
  if (!header) return make_error("message " + meta.id + ": " + header.error().message);
  auto key = ring.unwrap(*meta.wrapped_key, header->key_id, meta.id);
  if (!key) return make_error("message " + meta.id + ": " + key.error().message);
  auto opener = crypto::ChunkOpener::make(*key, meta.id, header_bytes);
  if (!opener) return make_error("message " + meta.id + ": " + opener.error().message);
  return std::shared_ptr<ContentReader>(new ContentReader(store, meta.id, meta.size, std::move(*opener), std::move(**first)));
}

Result<std::string_view> ContentReader::chunk(std::uint32_t index) {
  if (cached_ == index) return std::string_view(reinterpret_cast<const char*>(plain_.data()), cached_length_);
  cached_.reset();
  crypto::Bytes piece;
  crypto::ByteView sealed;
  if (index == 0) {
    sealed = crypto::ByteView(first_piece_).subspan(crypto::sealed_header_size);
  } else {
    auto read = store_.read_chunk(id_, index);
    if (!read) return read.error();
    if (!*read) return make_error("message " + id_ + ": piece " + std::to_string(index) + " is missing");
    piece = std::move(**read);
    sealed = piece;
  }
  const bool last = index + 1 == chunks_;
  auto n = opener_.open(index, last, sealed, plain_);
  if (!n) return make_error("message " + id_ + ": " + n.error().message);
  const std::uint64_t expected = last ? size_ - std::uint64_t{index} * crypto::sealed_chunk_size : crypto::sealed_chunk_size;
  if (*n != expected) return make_error("message " + id_ + ": piece " + std::to_string(index) + " has the wrong length");
  cached_ = index;
  cached_length_ = *n;
  return std::string_view(reinterpret_cast<const char*>(plain_.data()), cached_length_);
}

Result<std::size_t> ContentReader::read_at(std::uint64_t offset, std::span<char> out) {
  std::size_t written = 0;
  while (written < out.size() && offset < size_) {
    const auto index = static_cast<std::uint32_t>(offset / crypto::sealed_chunk_size);
    auto c = chunk(index);
    if (!c) return c.error();
    const std::size_t within = static_cast<std::size_t>(offset % crypto::sealed_chunk_size);
    const std::size_t n = std::min(out.size() - written, c->size() - within);
    std::memcpy(out.data() + written, c->data() + within, n);
    written += n;
    offset += n;
  }
  return written;
}

Result<std::string_view> ContentReader::next() {
  if (next_ >= chunks_) return std::string_view{};
  auto c = chunk(next_);
  if (!c) return c.error();
  ++next_;
  return *c;
}

}  // namespace sinetti::sealed
