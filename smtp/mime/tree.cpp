// GMime parse of one message (in memory or in a file) with mime::Limits enforced, and the walk that
// flattens the MIME tree into leaves numbered as IMAP does (RFC 3501 section 6.4.5). Header
// sections follow RFC 5322 section 2.2, multipart structure RFC 2046 section 5.
// Untrusted input: every message that reaches a listener.
#include "smtp/mime/tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include "smtp/mime/source_stream.hpp"
#include "smtp/mime/structure_scan.hpp"
#include "smtp/mime/text.hpp"

namespace sinetti::mime::detail {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// Destruction order matters: the message holds substreams of `stream`, which reads `backing`.
struct ParsedMessage::State {
  GByteArray* backing = nullptr;  // read_message: wraps the caller's bytes, never owns them
  ParserOptionsPtr options;
  Defects defects;
  bool nesting_overflow = false;
  GObjectPtr<GMimeStream> stream;
  GObjectPtr<GMimeMessage> message;
  std::uint64_t size = 0;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    message.reset();
    stream.reset();
    options.reset();
    if (backing != nullptr) g_byte_array_free(backing, FALSE);  // frees the wrapper, not the bytes
  }
};

ParsedMessage::ParsedMessage(std::unique_ptr<State> state) : state_(std::move(state)) {}
ParsedMessage::ParsedMessage(ParsedMessage&&) noexcept = default;
ParsedMessage& ParsedMessage::operator=(ParsedMessage&&) noexcept = default;
ParsedMessage::~ParsedMessage() = default;
GMimeMessage* ParsedMessage::message() const { return state_->message.get(); }
GMimeParserOptions* ParsedMessage::options() const { return state_->options.get(); }
Defects& ParsedMessage::defects() { return state_->defects; }
std::uint64_t ParsedMessage::size() const { return state_->size; }
bool ParsedMessage::nesting_overflow() const { return state_->nesting_overflow; }

namespace {

// ---- findings of the pre-scan (structure_scan.hpp), which checks the limits before GMime runs ----

// GMime keeps header values as C strings: a NUL cuts the value short. Worth a defect.
void note_scan_findings(const StructureScan& scan, Defects& defects) {
  if (scan.nul_in_top_header()) {
    defects.add("NUL byte in the message header section (value cut short)");
  }
}

// ---- GMime parse -----------------------------------------------------------------------------

void on_parser_warning(gint64 /*offset*/, GMimeParserWarning code, const gchar* item,
                       gpointer user_data) {
  auto* state = static_cast<ParsedMessage::State*>(user_data);
  const std::string name = item != nullptr ? Defects::safe_name(item) : std::string();
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
      state->defects.add("duplicate header field " + name);
      break;
    case GMIME_WARN_DUPLICATED_PARAMETER:
      state->defects.add("duplicate header parameter " + name);
      break;
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
      state->defects.add("unencoded 8-bit header field " + name);
      break;
    case GMIME_WARN_INVALID_CONTENT_TYPE:
      state->defects.add("invalid Content-Type");
      break;
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      state->defects.add("invalid RFC 2047 encoded word");
      break;
    case GMIME_WARN_MALFORMED_MULTIPART:
      state->defects.add("multipart ended by an enclosing boundary");
      break;
    case GMIME_WARN_MALFORMED_MESSAGE:
      state->defects.add("malformed message");
      break;
    case GMIME_CRIT_INVALID_HEADER_NAME:
      state->defects.add("invalid header line ignored");  // the line itself is message content
      break;
    case GMIME_CRIT_CONFLICTING_HEADER:
      state->defects.add("conflicting header fields " + name);
      break;
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      state->defects.add("conflicting header parameters " + name);
      break;
    case GMIME_WARN_INVALID_PARAMETER:
      state->defects.add("invalid header parameter");
      break;
    case GMIME_CRIT_NESTING_OVERFLOW:
      state->nesting_overflow = true;
      break;
    case GMIME_WARN_PART_WITHOUT_CONTENT:
      state->defects.add("part headers ended by a boundary");
      break;
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      state->defects.add("part without headers or content");
      break;
    case GMIME_WARN_TRUNCATED_MESSAGE:         // reported per multipart by the walk instead
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:  // idem
    case GMIME_WARN_INVALID_ADDRESS_LIST:      // addresses are not parsed here
    default:
      break;
  }
}

Result<ParsedMessage> run_parser(std::unique_ptr<ParsedMessage::State> state) {
  state->options.reset(g_mime_parser_options_new());
  // 8-bit header bytes are made valid UTF-8 before GMime decodes them; this list is GMime's own
  // fallback for the bytes inside encoded words of unusable charsets.
  const char* fallback[] = {"utf-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(state->options.get(), fallback);
  g_mime_parser_options_set_warning_callback(state->options.get(), on_parser_warning, state.get());

  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(state->stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  g_mime_parser_set_persist_stream(parser.get(), TRUE);  // parts stay byte ranges of the source
  state->message.reset(g_mime_parser_construct_message(parser.get(), state->options.get()));
  parser.reset();
  if (!state->message) return make_error("not a message: it does not start with a header field");
  return ParsedMessage(std::move(state));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// ---- tree walk -------------------------------------------------------------------------------

struct HeaderStats {
  std::size_t count = 0;
  std::size_t bytes = 0;
};

HeaderStats header_stats(GMimeObject* object, HeaderStats stats = {}) {
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  const int n = list != nullptr ? g_mime_header_list_get_count(list) : 0;
  for (int i = 0; i < n; ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
    const char* name = g_mime_header_get_raw_name(header);
    const char* value = g_mime_header_get_raw_value(header);
    stats.count += 1;
    stats.bytes += (name != nullptr ? std::strlen(name) : 0) + 1 +
                   (value != nullptr ? std::strlen(value) : 0);
  }
  return stats;
}

std::string child_path(const std::string& parent, std::size_t number) {
  return parent.empty() ? std::to_string(number) : parent + "." + std::to_string(number);
}

// A short printable ASCII token (media type, disposition) in lower case.
std::string token(const char* value) {
  std::string out;
  if (value == nullptr) return out;
  for (const char* p = value; *p != '\0' && out.size() < 128; ++p) {
    const char c = *p;
    if (c <= ' ' || c >= 0x7F) continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// Display text from GMime (already RFC 2047 / RFC 2231 decoded): valid UTF-8, single line, trimmed.
std::string display_text(const char* value) {
  if (value == nullptr) return {};
  const std::string utf8 = text::utf8_or_windows_1252(value);
  return std::string(text::trim(text::replace_controls(utf8)));
}

bool text_like_type(std::string_view content_type) {
  if (content_type.starts_with("text/")) return true;
  if (content_type == "application/json" || content_type == "application/xml" ||
      content_type == "application/csv") {
    return true;
  }
  return content_type.starts_with("application/") &&
         (content_type.ends_with("+json") || content_type.ends_with("+xml"));
}

bool text_like_name(std::string_view filename) {
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos) return false;
  const std::string ext = text::ascii_lower(filename.substr(dot + 1));
  return ext == "txt" || ext == "csv" || ext == "json" || ext == "xml" || ext == "md" ||
         ext == "log";
}

class Walker {
 public:
  Walker(const Limits& limits, Defects& defects) : limits_(limits), defects_(defects) {}

  std::optional<Error> message_body(GMimeMessage* message, const std::string& path,
                                    std::size_t depth, bool attached) {
    const HeaderStats outer = header_stats(as<GMimeObject>(message));
    GMimeObject* body = g_mime_message_get_mime_part(message);
    if (body == nullptr) {
      add_leaf(nullptr, child_path(path, 1), attached, "text/plain");  // a message without a body
      return std::nullopt;
    }
    return node(body, path, depth, attached, outer, true);
  }

  std::vector<Leaf> take_leaves() { return std::move(leaves_); }

 private:
  std::string where(const std::string& path) const {
    return path.empty() ? std::string("message") : "part " + path;
  }

  // `path` is the node's own IMAP number, except for a message body (`is_body`), where it is the
  // number of the enclosing message ("" at the top): a multipart body numbers its children from
  // there, a single-part body is "<path>.1".
  std::optional<Error> node(GMimeObject* object, const std::string& path, std::size_t depth,
                            bool attached, HeaderStats inherited, bool is_body) {
    if (++parts_ > limits_.max_parts) {
      return make_error("message has more than " + std::to_string(limits_.max_parts) +
                        " MIME parts");
    }
    if (depth > limits_.max_depth) {
      return make_error("MIME nesting exceeds " + std::to_string(limits_.max_depth) + " levels");
    }
    const bool multipart = is_a(object, g_mime_multipart_get_type());
    const std::string own = is_body && !multipart ? child_path(path, 1) : path;
    // A message body's header section is its message's: name the message in errors.
    const std::string label = where(is_body ? path : own);

    const HeaderStats stats = header_stats(object, inherited);
    if (stats.bytes > limits_.max_header_bytes) {
      return make_error(label + " header section exceeds " +
                        std::to_string(limits_.max_header_bytes) + " bytes");
    }
    if (stats.count > limits_.max_headers) {
      return make_error(label + " header section has more than " +
                        std::to_string(limits_.max_headers) + " fields");
    }

    if (multipart) return multipart_node(object, own, depth, attached);

    if (is_a(object, g_mime_message_part_get_type())) {
      GMimeMessage* inner = g_mime_message_part_get_message(as<GMimeMessagePart>(object));
      if (inner == nullptr) {
        defects_.add(label + ": empty encapsulated message");
        add_leaf(object, own, attached, nullptr);
        return std::nullopt;
      }
      return message_body(inner, own, depth + 1, attached || declared_attachment(object));
    }

    add_leaf(object, own, attached, nullptr);
    return std::nullopt;
  }

  std::optional<Error> multipart_node(GMimeObject* object, const std::string& path,
                                      std::size_t depth, bool attached) {
    auto* multipart = as<GMimeMultipart>(object);
    const std::string label = where(path);
    const char* boundary = g_mime_object_get_content_type_parameter(object, "boundary");
    const bool has_boundary = boundary != nullptr && *boundary != '\0';
    if (!has_boundary) defects_.add(label + ": multipart without boundary parameter");

    const int count = g_mime_multipart_get_count(multipart);
    if (count <= 0) {
      if (has_boundary && multipart->write_end_boundary == FALSE) {
        defects_.add(label + ": multipart boundary never appears");
      }
      // GMime keeps everything it could not split as the prologue. Surface it rather than hide
      // content a reader would otherwise never see.
      const char* prologue = g_mime_multipart_get_prologue(multipart);
      if (prologue != nullptr && *prologue != '\0') {
        if (++parts_ > limits_.max_parts) {
          return make_error("message has more than " + std::to_string(limits_.max_parts) +
                            " MIME parts");
        }
        defects_.add(label + ": multipart content read as text/plain");
        Leaf& leaf = add_leaf(nullptr, child_path(path, 1), attached, "text/plain");
        leaf.synthetic = prologue;
      } else {
        defects_.add(label + ": multipart without parts");
      }
      return std::nullopt;
    }
    // GMime records whether the closing delimiter "--boundary--" was seen (gmime-multipart.h).
    if (has_boundary && multipart->write_end_boundary == FALSE) {
      defects_.add(label + ": missing closing boundary");
    }
    for (int i = 0; i < count; ++i) {
      GMimeObject* child = g_mime_multipart_get_part(multipart, i);
      if (child == nullptr) continue;
      if (auto error = node(child, child_path(path, static_cast<std::size_t>(i) + 1), depth + 1,
                            attached, {}, false)) {
        return error;
      }
    }
    return std::nullopt;
  }

  static bool declared_attachment(GMimeObject* object) {
    const std::string disposition = token(g_mime_object_get_disposition(object));
    return (!disposition.empty() && disposition != "inline") ||
           g_mime_object_get_content_disposition_parameter(object, "filename") != nullptr ||
           g_mime_object_get_content_type_parameter(object, "name") != nullptr;
  }

  // `forced_type` describes leaves GMime has no part object for.
  Leaf& add_leaf(GMimeObject* object, const std::string& path, bool attached,
                 const char* forced_type) {
    Leaf leaf;
    Part& part = leaf.part;
    part.index = leaves_.size();
    part.path = path;
    leaf.object = object;
    if (object != nullptr && forced_type == nullptr) {
      GMimeContentType* type = g_mime_object_get_content_type(object);
      const std::string media =
          type != nullptr ? token(g_mime_content_type_get_media_type(type)) : std::string();
      const std::string sub =
          type != nullptr ? token(g_mime_content_type_get_media_subtype(type)) : std::string();
      part.content_type = media.empty() || sub.empty() ? "text/plain" : media + "/" + sub;
      if (type != nullptr) part.charset = token(g_mime_content_type_get_parameter(type, "charset"));

      const char* filename = g_mime_object_get_content_disposition_parameter(object, "filename");
      if (filename == nullptr) filename = g_mime_object_get_content_type_parameter(object, "name");
      part.filename = display_text(filename);

      if (const char* cid = g_mime_object_get_content_id(object); cid != nullptr) {
        for (const char* c = cid; *c != '\0' && part.content_id.size() < 256; ++c) {
          if (*c > ' ' && *c < 0x7f) part.content_id += *c;
        }
      }

      const std::string disposition = token(g_mime_object_get_disposition(object));
      // RFC 2183 section 2.8: an unrecognized disposition type is treated as "attachment".
      part.disposition = disposition.empty()       ? ""
                         : disposition == "inline" ? "inline"
                                                   : "attachment";

      const char* encoding = g_mime_object_get_header(object, "Content-Transfer-Encoding");
      if (encoding != nullptr && !text::trim(encoding).empty() &&
          g_mime_content_encoding_from_string(encoding) == GMIME_CONTENT_ENCODING_DEFAULT) {
        defects_.add(where(path) + ": unknown Content-Transfer-Encoding, content read as is");
      }
    } else {
      part.content_type = forced_type != nullptr ? forced_type : "application/octet-stream";
    }
    part.is_attachment = attached || part.disposition == "attachment" || !part.filename.empty() ||
                         !part.content_type.starts_with("text/");
    part.text_like = text_like_type(part.content_type) || text_like_name(part.filename);
    leaves_.push_back(std::move(leaf));
    return leaves_.back();
  }

  const Limits& limits_;
  Defects& defects_;
  std::size_t parts_ = 0;
  std::vector<Leaf> leaves_;
};

std::string decode_header_value(GMimeParserOptions* options, const char* raw) {
  if (raw == nullptr) return {};
  // Raw 8-bit bytes: UTF-8 if valid, else Windows-1252; then unfold (RFC 5322 section 2.2.3).
  std::string value = text::utf8_or_windows_1252(raw);
  std::erase_if(value, [](char c) { return c == '\r' || c == '\n'; });
  value = std::string(text::trim(value));
  GCharPtr decoded(g_mime_utils_header_decode_text(options, value.c_str()));
  std::string out = decoded ? std::string(decoded.get()) : value;
  if (!text::is_valid_utf8(out)) out = text::repair_utf8(out);
  return std::string(text::trim(text::replace_controls(out)));
}

}  // namespace

Result<ParsedMessage> parse_memory(std::string_view raw, const Limits& limits) {
  ensure_gmime();
  if (raw.empty()) return make_error("empty message");
  if (raw.size() > G_MAXUINT) return make_error("message too large to read from memory");
  StructureScan scan(limits);
  scan.feed(raw);
  if (auto error = scan.finish()) return *error;

  auto state = std::make_unique<ParsedMessage::State>();
  state->size = raw.size();
  note_scan_findings(scan, state->defects);
  // Zero copy: the byte array borrows the caller's buffer; GMime only reads it, and State frees
  // just the wrapper.
  state->backing = g_byte_array_new_take(
      reinterpret_cast<guint8*>(const_cast<char*>(raw.data())), raw.size());
  GMimeStream* stream = g_mime_stream_mem_new_with_byte_array(state->backing);
  g_mime_stream_mem_set_owner(as<GMimeStreamMem>(stream), FALSE);
  state->stream.reset(stream);
  return run_parser(std::move(state));
}

Result<ParsedMessage> parse_file(const std::filesystem::path& path, const Limits& limits) {
  ensure_gmime();
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    return make_error("cannot open message file " + path.string() + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return make_error("cannot stat message file " + path.string() + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) return make_error("not a regular file: " + path.string());
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0) return make_error("empty message");

  // One pass over the file for the structural limits; the page cache serves GMime's pass after.
  StructureScan scan(limits);
  std::vector<char> buffer(256 * 1024);
  std::uint64_t offset = 0;
  while (offset < size && !scan.failed()) {
    const ssize_t n = ::pread(fd.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return make_error("cannot read message file " + path.string() + ": " + errno_text(errno));
    }
    if (n == 0) break;
    scan.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    offset += static_cast<std::uint64_t>(n);
  }
  if (auto error = scan.finish()) return *error;

  auto state = std::make_unique<ParsedMessage::State>();
  state->size = size;
  note_scan_findings(scan, state->defects);
  state->stream.reset(g_mime_stream_fs_new(fd.release()));  // the stream now owns the descriptor
  return run_parser(std::move(state));
}

Result<ParsedMessage> parse_source(std::shared_ptr<ByteSource> source, const Limits& limits) {
  ensure_gmime();
  const std::uint64_t size = source->size();
  if (size == 0) return make_error("empty message");
  StructureScan scan(limits);
  std::vector<char> buffer(64 * 1024);
  std::uint64_t offset = 0;
  while (offset < size && !scan.failed()) {
    auto n = source->read_at(offset, buffer);
    if (!n) return make_error("cannot read the message: " + n.error().message);
    if (*n == 0) return make_error("cannot read the message: it ends early");
    scan.feed(std::string_view(buffer.data(), *n));
    offset += *n;
  }
  if (auto error = scan.finish()) return *error;

  auto state = std::make_unique<ParsedMessage::State>();
  state->size = size;
  note_scan_findings(scan, state->defects);
  state->stream = make_source_stream(std::move(source));
  return run_parser(std::move(state));
}

Result<std::vector<Leaf>> flatten(ParsedMessage& parsed, const Limits& limits) {
  if (parsed.nesting_overflow()) {
    return make_error("MIME nesting exceeds " + std::to_string(limits.max_depth) + " levels");
  }
  Walker walker(limits, parsed.defects());
  if (auto error = walker.message_body(parsed.message(), "", 0, false)) return *error;
  return walker.take_leaves();
}

std::vector<Header> top_level_headers(ParsedMessage& parsed) {
  struct Entry {
    gint64 offset;
    GMimeHeader* header;
  };
  std::vector<Entry> entries;
  auto collect = [&entries](GMimeObject* object) {
    GMimeHeaderList* list = g_mime_object_get_header_list(object);
    const int n = list != nullptr ? g_mime_header_list_get_count(list) : 0;
    for (int i = 0; i < n; ++i) {
      GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
      const gint64 offset = g_mime_header_get_offset(header);
      if (offset >= 0) entries.push_back({offset, header});  // offset -1: added by GMime, not read
    }
  };
  // GMime files the Content-* fields of the top-level section under the body part; the stream
  // offsets restore the order they were written in.
  collect(as<GMimeObject>(parsed.message()));
  if (GMimeObject* body = g_mime_message_get_mime_part(parsed.message())) collect(body);
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.offset < b.offset; });

  std::vector<Header> headers;
  headers.reserve(entries.size());
  for (const Entry& e : entries) {
    headers.push_back(Header{display_text(g_mime_header_get_name(e.header)),
                             decode_header_value(parsed.options(),
                                                 g_mime_header_get_raw_value(e.header))});
  }
  return headers;
}

ContentDecoder open_content(const Leaf& leaf) {
  if (leaf.object != nullptr && is_a(leaf.object, g_mime_part_get_type())) {
    GMimeDataWrapper* content = g_mime_part_get_content(as<GMimePart>(leaf.object));
    if (content != nullptr) {
      return ContentDecoder(g_mime_data_wrapper_get_stream(content),
                            g_mime_data_wrapper_get_encoding(content));
    }
    return ContentDecoder(nullptr, GMIME_CONTENT_ENCODING_DEFAULT);
  }
  GObjectPtr<GMimeStream> stream(
      g_mime_stream_mem_new_with_buffer(leaf.synthetic.data(), leaf.synthetic.size()));
  return ContentDecoder(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT);
}

}  // namespace sinetti::mime::detail
