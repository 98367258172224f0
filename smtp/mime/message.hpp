// MIME reading (RFC 5322, RFC 2045-2047, RFC 2231): turns a message into what routing and the portal
// need — headers, subject, text decoded to UTF-8, attachments with name, type and size — over GMime.
// Untrusted input: every message that reaches a listener. Broken MIME is reported, never a crash;
// every buffer has a cap from mime::Limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::mime {

struct Limits {
  std::size_t max_header_bytes = 1024 * 1024;   // one header section (any part); more is an error
  std::size_t max_headers = 2000;               // header fields in one section
  std::size_t max_depth = 32;                   // nesting of multiparts and message/rfc822
  std::size_t max_parts = 2000;                 // MIME parts in the whole message
  std::size_t max_text_bytes = 16 * 1024 * 1024; // decoded UTF-8 text kept per text part or text-like
                                                 // attachment; beyond it the text is cut and flagged
  std::size_t max_total_headers = 20000;        // header fields in all sections together (bounds
                                                 // the parser's memory on many small sections)
};

struct Header {
  std::string name;   // as written
  std::string value;  // unfolded, RFC 2047 encoded words decoded, UTF-8 (raw 8-bit bytes: UTF-8
                      // if valid, else Windows-1252; control characters other than TAB: U+FFFD)
};

// One leaf part, in depth-first order.
struct Part {
  std::size_t index = 0;        // 0-based, depth-first over leaves
  std::string path;             // IMAP-style part number: "1", "2.1", ...
  std::string content_type;     // lower-case "type/subtype"; "text/plain" when absent
  std::string charset;          // lower-case, as declared; empty if none
  std::string filename;         // decoded UTF-8 (RFC 2231 / 2047), empty if none
  std::string content_id;       // Content-ID without angle brackets (RFC 2392), printable ASCII,
                                // at most 256 characters; empty if none
  std::string disposition;      // lower-case "inline", "attachment" or empty (an unknown type
                                // counts as "attachment", RFC 2183 section 2.8)
  std::uint64_t decoded_size = 0;  // bytes after transfer decoding (0 when for_each_part_file calls
                                   // `visit`: the content has not been read yet)
  bool is_attachment = false;   // disposition attachment, or has a filename, or is not text/*, or
                                // lies inside a message/rfc822 part that is itself an attachment
  bool text_like = false;       // text/*, or a known text format (json, xml, csv, ...) by type or name
};

struct TextBody {
  std::size_t part_index = 0;   // Part::index of the leaf this text came from
  std::string content_type;     // text/plain, text/html, ...
  std::string text;             // decoded to UTF-8; line ends as sent; NUL bytes become U+FFFD
  bool truncated = false;       // cut at Limits::max_text_bytes
};

struct Attachment {
  Part part;
  std::string text;             // decoded UTF-8 text when part.text_like, else empty
  bool text_truncated = false;
};

struct Message {
  std::vector<Header> headers;      // top-level header section, in order
  std::string subject;              // decoded UTF-8
  std::vector<TextBody> texts;      // body text parts (not attachments), in order
  std::vector<Attachment> attachments;
  std::vector<Part> parts;          // every leaf part
  std::uint64_t size = 0;           // raw message size in bytes
  std::vector<std::string> defects; // non-fatal problems seen (e.g. "missing closing boundary")

  // First header with this name (case-insensitive), decoded.
  std::optional<std::string_view> header(std::string_view name) const;
  // All headers with this name (case-insensitive), in order.
  std::vector<std::string_view> headers_named(std::string_view name) const;
};

// Reads a whole message. Text and text-like attachment contents are decoded and kept (up to
// Limits::max_text_bytes each); other attachment contents are only measured, never held.
// Errors: empty input, input that does not start with a header field, any Limits exceeded, I/O.
// Everything else that is broken (boundaries, encodings, charsets) is read as well as it can be and
// listed in Message::defects. read_message does not copy `raw`.
Result<Message> read_message(std::string_view raw, const Limits& limits = {});
Result<Message> read_message_file(const std::filesystem::path& path, const Limits& limits = {});

// Random access to a message's bytes that are neither in memory nor in a plain file (a sealed
// message in the store, decrypted as it is read). The parser seeks, so read_at is called at any
// offset. A read error fails the parse with "cannot read the message: REASON".
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::uint64_t size() const = 0;
  // Fills `out` from `offset` on; fewer bytes only at the end of the source.
  virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<char> out) = 0;
};
Result<Message> read_message_source(std::shared_ptr<ByteSource> source, const Limits& limits = {});

// Streaming access to decoded part contents without holding the message in memory: for every leaf
// part, `visit` receives its description and a reader; `read` fills the span with decoded bytes and
// returns how many it wrote (0 at the end). Returning false from `visit` stops the walk.
// "Decoded" means transfer-decoded (base64, quoted-printable); the bytes keep their charset
// (Part::charset). The result is the number of parts visited; limits are checked before the first.
class PartContent {
 public:
  virtual ~PartContent() = default;
  virtual std::size_t read(std::span<char> out) = 0;
};
Result<std::size_t> for_each_part_file(const std::filesystem::path& path, const Limits& limits,
                                       const std::function<bool(const Part&, PartContent&)>& visit);
Result<std::size_t> for_each_part_source(std::shared_ptr<ByteSource> source, const Limits& limits,
                                         const std::function<bool(const Part&, PartContent&)>& visit);

}  // namespace sinetti::mime
