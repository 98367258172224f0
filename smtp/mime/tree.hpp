// Private to smtp/mime: runs GMime's parser over a message in memory or in a file, enforces
// mime::Limits (header sections per RFC 5322 section 2.2, nesting and part counts per RFC 2046), and
// flattens the MIME tree into leaves numbered as IMAP does (RFC 3501 section 6.4.5).
// Untrusted input: every message that reaches a listener.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"
#include "smtp/mime/content.hpp"
#include "smtp/mime/defects.hpp"
#include "smtp/mime/gmime_handles.hpp"
#include "smtp/mime/message.hpp"

namespace sinetti::mime::detail {

// One GMime parse of one message. Part contents stay in the caller's buffer or on disk: GMime is
// run with persistent streams, so parts refer to byte ranges of the source.
class ParsedMessage {
 public:
  ParsedMessage(ParsedMessage&&) noexcept;
  ParsedMessage& operator=(ParsedMessage&&) noexcept;
  ~ParsedMessage();

  GMimeMessage* message() const;
  GMimeParserOptions* options() const;
  Defects& defects();
  std::uint64_t size() const;
  // GMime met more nesting than it is built to follow (it then stops descending).
  bool nesting_overflow() const;

  struct State;
  explicit ParsedMessage(std::unique_ptr<State> state);

 private:
  std::unique_ptr<State> state_;
};

// `raw` must outlive the ParsedMessage (it is not copied).
Result<ParsedMessage> parse_memory(std::string_view raw, const Limits& limits);
Result<ParsedMessage> parse_file(const std::filesystem::path& path, const Limits& limits);
// Reads the source twice: once for the structural limits, then GMime's own pass.
Result<ParsedMessage> parse_source(std::shared_ptr<ByteSource> source, const Limits& limits);

// A leaf of the MIME tree: a GMimePart, or content GMime kept elsewhere (the body of a multipart
// whose boundary never appears) or nothing at all (an empty message/rfc822).
struct Leaf {
  Part part;
  GMimeObject* object = nullptr;  // borrowed from the parsed tree; null for synthetic leaves
  std::string synthetic;          // content of a synthetic leaf
};

// Checks every part against the limits and returns the leaves in depth-first order.
Result<std::vector<Leaf>> flatten(ParsedMessage& parsed, const Limits& limits);

// The top-level header section in order, values unfolded and decoded to UTF-8.
std::vector<Header> top_level_headers(ParsedMessage& parsed);

// A decoder over the leaf's content (transfer-decoded bytes).
ContentDecoder open_content(const Leaf& leaf);

}  // namespace sinetti::mime::detail
