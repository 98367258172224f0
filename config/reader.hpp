// Schema reader: walks one YAML mapping, converts and bounds-checks each declared key, and reports
// every problem as FILE:LINE:COL (unknown keys with "did you mean"). The same declarations run in
// describe mode, without YAML, to produce the configuration reference — so docs cannot drift.
// Untrusted-ish input: the operator's configuration file. Private to config/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace sinetti::config::detail {

struct FieldDoc {
  std::string path;   // "listeners[].max_message_size"
  std::string type;   // "size", "duration", "string", ...
  std::string default_text;
  std::string bounds;
  std::string doc;
  bool required = false;
};

// A referenced file to check after loading (unless LoadOptions::check_files is false).
struct FileRef {
  Location where;
  std::filesystem::path path;
  enum class Kind { readable_file, secret_file, tls_pair_cert, tls_pair_key, directory_parent, readable_dir } kind;
  bool may_be_missing = false;  // self-signed TLS files are created on first start
};

class Context {
 public:
  explicit Context(std::string file) : file_(std::move(file)) {}
  Context(std::string file, std::vector<FieldDoc>* docs) : file_(std::move(file)), docs_(docs) {}

  bool describing() const { return docs_ != nullptr; }
  void document(FieldDoc doc) { docs_->push_back(std::move(doc)); }
  Location at(const YAML::Mark& mark) const;
  void error(const YAML::Mark& mark, std::string message);
  void error(const Location& where, std::string message);
  std::vector<Diagnostic>& errors() { return errors_; }
  std::vector<FileRef>& files() { return files_; }
  // Where each key read so far was written ("instance.public_url" → its value), for errors found
  // after reading; the start of the file when the key was absent.
  void record(std::string path, Location where) { locations_.emplace(std::move(path), std::move(where)); }
  Location where(const std::string& path) const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<FieldDoc>* docs_ = nullptr;
  std::vector<Diagnostic> errors_;
  std::vector<FileRef> files_;
  std::map<std::string, Location> locations_;
};

template <typename E>
using Choices = std::initializer_list<std::pair<std::string_view, E>>;

// Documentation of one key: text, and whether it must be present.
struct Doc {
  std::string_view text;
  bool required = false;
};

class MapReader {
 public:
  // `node` may be undefined (absent section: every key takes its default) or must be a mapping.
  MapReader(Context& ctx, const YAML::Node& node, std::string path, YAML::Mark parent_mark = {});
  ~MapReader();  // reports unknown and duplicate keys
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  bool describing() const { return ctx_.describing(); }
  bool has(std::string_view key) const;
  YAML::Mark mark(std::string_view key) const;  // the key's value, or the mapping itself
  Location location(std::string_view key) const { return ctx_.at(mark(key)); }
  Context& context() { return ctx_; }
  const std::string& path() const { return path_; }

  void string(std::string_view key, std::string& out, std::string_view def, Doc doc);
  void boolean(std::string_view key, bool& out, bool def, Doc doc);
  void uint(std::string_view key, std::uint32_t& out, std::uint32_t def, std::uint32_t min,
            std::uint32_t max, Doc doc);
  void port(std::string_view key, std::uint16_t& out, std::uint16_t def, Doc doc);
  void duration(std::string_view key, Duration& out, Duration def, Duration min, Duration max, Doc doc);
  void size(std::string_view key, std::uint64_t& out, std::uint64_t def, std::uint64_t min,
            std::uint64_t max, Doc doc);
  void optional_size(std::string_view key, std::optional<std::uint64_t>& out, Doc doc);
  void path_value(std::string_view key, std::filesystem::path& out, std::string_view def, Doc doc);
  void string_list(std::string_view key, std::vector<std::string>& out,
                   std::vector<std::string> def, Doc doc);
  void int_list(std::string_view key, std::vector<int>& out, std::vector<int> def, int min, int max,
                Doc doc);
  void listen_address(std::string_view key, ListenAddress& out, std::string_view def, Doc doc);
  // `KEY: env:NAME` or `KEY_file: PATH`; an inline value is refused.
  void secret(std::string_view key, std::optional<Secret>& out, Doc doc);
  // A mapping of language code → text.
  void translations(std::string_view key, std::map<Language, std::string>& out, Doc doc);
  // The same, with a built-in text for every language the operator leaves out.
  void translations(std::string_view key, std::map<Language, std::string>& out,
                    const std::map<Language, std::string>& defaults, Doc doc);

  template <typename E>
  void enumeration(std::string_view key, E& out, std::optional<E> def, Choices<E> choices, Doc doc);

  // A nested mapping; `read` runs when the key is present (and always in describe mode).
  // Returns whether it ran.
  bool object(std::string_view key, Doc doc, const std::function<void(MapReader&)>& read);
  // A sequence; `read` runs per item with the item's node and path "key[i]".
  void sequence(std::string_view key, Doc doc, std::string_view item_type,
                const std::function<void(const YAML::Node&, const std::string&)>& read);
  // A key whose value the caller interprets itself (routing conditions); returns the node.
  std::optional<YAML::Node> raw(std::string_view key, std::string_view type, Doc doc);

  // Marks a key as known without reading it (read elsewhere).
  void known(std::string_view key) { known_.insert(std::string(key)); }

 private:
  // Records the key as known; documents it in describe mode. Returns the node when present.
  std::optional<YAML::Node> take(std::string_view key, std::string_view type, std::string default_text,
                                 std::string bounds, Doc doc);
  std::optional<std::string> scalar(std::string_view key, const YAML::Node& node, std::string_view what);
  template <typename Kind, typename T>
  void bounded(std::string_view key, T& out, T def, T min, T max, Doc doc);
  std::string field(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }

  Context& ctx_;
  YAML::Node node_;
  std::string path_;
  YAML::Mark mark_;
  bool valid_ = false;  // node is a mapping
  std::set<std::string, std::less<>> known_;
};

// Reads a scalar; reports "expected TYPE" at the node otherwise.
std::optional<std::string> scalar_of(Context& ctx, const YAML::Node& node, std::string_view field,
                                     std::string_view what);
std::string did_you_mean(std::string_view word, const std::set<std::string, std::less<>>& candidates);

template <typename E>
void MapReader::enumeration(std::string_view key, E& out, std::optional<E> def, Choices<E> choices, Doc doc) {
  std::string names;
  std::string default_text;
  for (const auto& [name, value] : choices) {
    names += (names.empty() ? "" : " | ") + std::string(name);
    if (def && value == *def) default_text = std::string(name);
  }
  auto node = take(key, "one of: " + names, default_text, "", doc);
  if (!node) {
    if (def) out = *def;
    return;
  }
  auto text = scalar(key, *node, "one of: " + names);
  if (!text) return;
  for (const auto& [name, value] : choices) {
    if (*text == name) {
      out = value;
      return;
    }
  }
  std::set<std::string, std::less<>> candidates;
  for (const auto& c : choices) candidates.emplace(c.first);
  ctx_.error(node->Mark(), field(key) + ": '" + *text + "' is not one of: " + names + did_you_mean(*text, candidates));
}

}  // namespace sinetti::config::detail
