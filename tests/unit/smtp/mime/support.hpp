// Helpers shared by the smtp/mime tests: corpus access, temporary files, and an independent UTF-8
// check (written apart from smtp/mime/text.cpp so that one does not vouch for itself).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/mime/message.hpp"

namespace sinetti::mime::test {

inline std::filesystem::path corpus_dir() {
  return std::filesystem::path(SINETTI_TEST_DATA_DIR) / "mime";
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string corpus(std::string_view name) { return read_file(corpus_dir() / name); }

inline std::vector<std::filesystem::path> corpus_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    if (entry.path().extension() == ".eml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sinetti-mime-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, std::string_view content) const {
    const auto file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return file;
  }

 private:
  std::filesystem::path path_;
};

// Decodes code points one by one and rejects anything RFC 3629 does not allow.
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      len = 1, cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const std::uint32_t min = len == 1 ? 0 : len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// Every string in a Message is valid UTF-8; returns a description of the first one that is not.
inline std::string first_invalid_utf8(const Message& m) {
  std::ostringstream where;
  for (const auto& h : m.headers) {
    if (!valid_utf8(h.name) || !valid_utf8(h.value)) return "header " + h.name;
  }
  if (!valid_utf8(m.subject)) return "subject";
  for (const auto& p : m.parts) {
    if (!valid_utf8(p.path) || !valid_utf8(p.content_type) || !valid_utf8(p.charset) ||
        !valid_utf8(p.filename) || !valid_utf8(p.disposition)) {
      return "part " + p.path;
    }
  }
  for (const auto& t : m.texts) {
    if (!valid_utf8(t.text) || !valid_utf8(t.content_type)) return "text";
  }
  for (const auto& a : m.attachments) {
    if (!valid_utf8(a.text)) return "attachment " + a.part.path;
  }
  for (const auto& d : m.defects) {
    if (!valid_utf8(d)) return "defect";
  }
  return {};
}

inline bool has_defect(const Message& m, std::string_view fragment) {
  for (const auto& d : m.defects) {
    if (d.find(fragment) != std::string::npos) return true;
  }
  return false;
}

// Reads one leaf's decoded content through for_each_part_file.
inline std::string streamed_content(const std::filesystem::path& file, std::string_view path,
                                    const Limits& limits = {}) {
  std::string out;
  auto r = for_each_part_file(file, limits, [&](const Part& part, PartContent& content) {
    if (part.path != path) return true;
    char buffer[97];  // odd size on purpose: reads end mid-chunk
    for (std::size_t n; (n = content.read(buffer)) > 0;) out.append(buffer, n);
    return false;
  });
  if (!r) throw std::runtime_error(r.error().message);
  return out;
}

}  // namespace sinetti::mime::test
