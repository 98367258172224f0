// MIME reading (RFC 5322, RFC 2045-2047, RFC 2231): the public face of smtp/mime — builds
// mime::Message from a parsed tree and streams leaf contents. Untrusted input: every message that
// reaches a listener; limits come from mime::Limits, problems become defects or an Error.
#include "smtp/mime/message.hpp"

#include <utility>

#include "smtp/mime/content.hpp"
#include "smtp/mime/text.hpp"
#include "smtp/mime/tree.hpp"

namespace sinetti::mime {

std::optional<std::string_view> Message::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (text::iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Message::headers_named(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Header& h : headers) {
    if (text::iequals(h.name, name)) out.emplace_back(h.value);
  }
  return out;
}

namespace {

Result<Message> build_message(detail::ParsedMessage& parsed, const Limits& limits) {
  auto leaves = detail::flatten(parsed, limits);
  if (!leaves) return leaves.error();

  Message message;
  message.size = parsed.size();
  message.headers = detail::top_level_headers(parsed);
  if (auto subject = message.header("Subject")) message.subject = std::string(*subject);

  for (const detail::Leaf& leaf : *leaves) {
    Part part = leaf.part;
    detail::ContentDecoder decoder = detail::open_content(leaf);
    // Body text and text-like attachments are kept as UTF-8; everything else is only measured.
    std::optional<detail::TextSink> sink;
    if (part.text_like || !part.is_attachment) {
      sink.emplace(part.charset, limits.max_text_bytes, parsed.defects(), part.path);
    }
    for (std::string_view chunk = decoder.next(); !chunk.empty(); chunk = decoder.next()) {
      part.decoded_size += chunk.size();
      if (sink && !sink->full()) sink->write(chunk);
    }
    if (decoder.failed()) return make_error("cannot read the content of part " + part.path);
    if (auto defect = decoder.encoding_defect()) {
      parsed.defects().add("part " + part.path + ": " + *defect);
    }

    bool truncated = false;
    std::string text = sink ? sink->finish(truncated) : std::string();
    if (part.is_attachment) {
      message.attachments.push_back(Attachment{part, std::move(text), truncated});
    } else {
      message.texts.push_back(TextBody{part.index, part.content_type, std::move(text), truncated});
    }
    message.parts.push_back(std::move(part));
  }
  message.defects = parsed.defects().take();
  return message;
}

// PartContent over a leaf's decoder: hands out decoded bytes as the visitor asks for them.
class StreamedContent final : public PartContent {
 public:
  explicit StreamedContent(detail::ContentDecoder decoder) : decoder_(std::move(decoder)) {}

  std::size_t read(std::span<char> out) override {
    std::size_t written = 0;
    while (written < out.size()) {
      if (pending_.empty()) {
        pending_ = decoder_.next();
        if (pending_.empty()) break;
      }
      const std::size_t n = std::min(pending_.size(), out.size() - written);
      std::copy_n(pending_.data(), n, out.data() + written);
      pending_.remove_prefix(n);
      written += n;
    }
    return written;
  }

  bool failed() const { return decoder_.failed(); }

 private:
  detail::ContentDecoder decoder_;
  std::string_view pending_;
};

}  // namespace

Result<Message> read_message(std::string_view raw, const Limits& limits) {
  auto parsed = detail::parse_memory(raw, limits);
  if (!parsed) return parsed.error();
  return build_message(*parsed, limits);
}

Result<Message> read_message_file(const std::filesystem::path& path, const Limits& limits) {
  auto parsed = detail::parse_file(path, limits);
  if (!parsed) return parsed.error();
  return build_message(*parsed, limits);
}

namespace {

// A source that records its first read error, so a parse that GMime ended early (it sees a failed
// read as the end of the data) is reported as the read error it was.
class RecordingSource final : public ByteSource {
 public:
  explicit RecordingSource(std::shared_ptr<ByteSource> inner) : inner_(std::move(inner)) {}
  std::uint64_t size() const override { return inner_->size(); }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> out) override {
    auto n = inner_->read_at(offset, out);
    if (!n && !error_) error_ = n.error();
    return n;
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  std::shared_ptr<ByteSource> inner_;
  std::optional<Error> error_;
};

Error read_failure(const Error& e) { return make_error("cannot read the message: " + e.message); }

Result<std::size_t> visit_parts(detail::ParsedMessage& parsed, const Limits& limits,
                                const std::function<bool(const Part&, PartContent&)>& visit) {
  auto leaves = detail::flatten(parsed, limits);
  if (!leaves) return leaves.error();

  std::size_t visited = 0;
  for (const detail::Leaf& leaf : *leaves) {
    StreamedContent content(detail::open_content(leaf));
    ++visited;
    const bool more = visit(leaf.part, content);
    if (content.failed()) return make_error("cannot read the content of part " + leaf.part.path);
    if (!more) break;
  }
  return visited;
}

}  // namespace

Result<std::size_t> for_each_part_file(
    const std::filesystem::path& path, const Limits& limits,
    const std::function<bool(const Part&, PartContent&)>& visit) {
  auto parsed = detail::parse_file(path, limits);
  if (!parsed) return parsed.error();
  return visit_parts(*parsed, limits, visit);
}

Result<Message> read_message_source(std::shared_ptr<ByteSource> source, const Limits& limits) {
  auto recording = std::make_shared<RecordingSource>(std::move(source));
  auto parsed = detail::parse_source(recording, limits);
  if (recording->error()) return read_failure(*recording->error());
  if (!parsed) return parsed.error();
  auto message = build_message(*parsed, limits);
  if (recording->error()) return read_failure(*recording->error());
  return message;
}

Result<std::size_t> for_each_part_source(
    std::shared_ptr<ByteSource> source, const Limits& limits,
    const std::function<bool(const Part&, PartContent&)>& visit) {
  auto recording = std::make_shared<RecordingSource>(std::move(source));
  auto parsed = detail::parse_source(recording, limits);
  if (recording->error()) return read_failure(*recording->error());
  if (!parsed) return parsed.error();
  auto visited = visit_parts(*parsed, limits, visit);
  if (recording->error()) return read_failure(*recording->error());
  return visited;
}

}  // namespace sinetti::mime
