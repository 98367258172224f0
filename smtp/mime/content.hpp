// Private to smtp/mime: decodes one leaf part's content — transfer encoding (RFC 2045 section 6)
// through GMime's filters in bounded chunks, then charset to UTF-8 (RFC 2046 section 4.1.2) with a
// byte cap. Untrusted input: the raw content of every MIME leaf part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/mime/defects.hpp"
#include "smtp/mime/gmime_handles.hpp"

namespace sinetti::mime::detail {

// Pulls transfer-decoded bytes out of a part's encoded content, one chunk at a time; memory use is a
// few chunk buffers whatever the part's size.
class ContentDecoder {
 public:
  static constexpr std::size_t chunk_bytes = 64 * 1024;

  // `source` is the encoded content; the decoder takes its own reference and reads from the start.
  ContentDecoder(GMimeStream* source, GMimeContentEncoding encoding);

  // The next decoded bytes, empty at the end. The view is valid until the next call.
  std::string_view next();

  // True if reading the source failed before its end (an I/O error, not bad encoding).
  bool failed() const { return failed_; }

  // After the end: what was wrong with the encoded data, if anything (for base64: stray characters,
  // a missing final quantum).
  std::optional<std::string> encoding_defect() const;

 private:
  void note_base64(std::string_view encoded);
  bool source_at_end() const;

  GObjectPtr<GMimeStream> source_;
  GObjectPtr<GMimeFilter> filter_;
  GMimeContentEncoding encoding_;
  std::vector<char> raw_;
  bool done_ = false;
  bool failed_ = false;
  // base64 bookkeeping
  std::uint64_t base64_symbols_ = 0;
  std::uint64_t base64_padding_ = 0;
  std::uint64_t base64_invalid_ = 0;
};

// Turns transfer-decoded text bytes of a declared charset into valid UTF-8, keeping at most
// `max_bytes`. Charsets GMime/iconv cannot convert fall back to "UTF-8 if valid, else
// Windows-1252" and are reported as a defect.
class TextSink {
 public:
  TextSink(std::string_view declared_charset, std::size_t max_bytes, Defects& defects,
           std::string_view part_path);

  void write(std::string_view decoded);
  // True once the cap is reached: further writes are ignored.
  bool full() const { return full_; }
  // Finishes the conversion; the result is valid UTF-8 without NUL bytes.
  std::string finish(bool& truncated);

 private:
  enum class Mode { detect, declared_utf8, windows_1252, converter };

  void append_capped(std::string_view utf8);

  Mode mode_ = Mode::detect;
  std::size_t max_;
  Defects& defects_;
  std::string path_;
  GObjectPtr<GMimeFilter> converter_;
  std::vector<char> scratch_;
  std::string raw_;  // detect / declared_utf8: bytes kept until the end decides how to read them
  std::string out_;
  bool raw_overflow_ = false;
  bool full_ = false;
  bool truncated_ = false;
};

}  // namespace sinetti::mime::detail
