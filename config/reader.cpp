#include "config/reader.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>

namespace sinetti::config::detail {

Location Context::at(const YAML::Mark& mark) const {
  if (mark.is_null()) return Location{file_, 1, 1};
  return Location{file_, mark.line + 1, mark.column + 1};
}

Location Context::where(const std::string& path) const {
  if (auto it = locations_.find(path); it != locations_.end()) return it->second;
  return Location{file_, 1, 1};
}

void Context::error(const YAML::Mark& mark, std::string message) { error(at(mark), std::move(message)); }

void Context::error(const Location& where, std::string message) {
  errors_.push_back(Diagnostic{where, std::move(message)});
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

const char* node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::optional<std::uint64_t> parse_uint(std::string_view text) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::set<std::string, std::less<>>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

std::optional<std::string> scalar_of(Context& ctx, const YAML::Node& node, std::string_view field,
                                     std::string_view what) {
  if (!node.IsScalar()) {
    ctx.error(node.Mark(), std::string(field) + ": expected " + std::string(what) + ", found " + node_kind(node));
    return std::nullopt;
  }
  return node.Scalar();
}

MapReader::MapReader(Context& ctx, const YAML::Node& node, std::string path, YAML::Mark parent_mark)
    : ctx_(ctx), node_(node), path_(std::move(path)), mark_(parent_mark) {
  if (ctx_.describing() || !node_.IsDefined()) return;
  if (!node_.IsMap()) {
    ctx_.error(node_.Mark(), (path_.empty() ? std::string("configuration") : path_) +
                                 ": expected a mapping, found " + node_kind(node_));
    return;
  }
  mark_ = node_.Mark();
  valid_ = true;
}

MapReader::~MapReader() {
  if (!valid_) return;
  std::map<std::string, int, std::less<>> seen;  // key → line of first occurrence
  for (const auto& kv : node_) {
    const YAML::Node& key = kv.first;
    if (!key.IsScalar()) {
      ctx_.error(key.Mark(), (path_.empty() ? std::string("configuration") : path_) + ": keys must be plain names");
      continue;
    }
    const std::string& name = key.Scalar();
    if (auto [it, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
      ctx_.error(key.Mark(), "duplicate key '" + field(name) + "' (first written on line " + std::to_string(it->second) + ")");
      continue;
    }
    if (!known_.contains(name)) {
      ctx_.error(key.Mark(), "unknown key '" + field(name) + "'" + did_you_mean(name, known_));
    }
  }
}

bool MapReader::has(std::string_view key) const {
  return valid_ && node_[std::string(key)].IsDefined();
}

YAML::Mark MapReader::mark(std::string_view key) const {
  if (valid_) {
    const YAML::Node n = node_[std::string(key)];
    if (n.IsDefined()) return n.Mark();
  }
  return mark_;
}

std::optional<YAML::Node> MapReader::take(std::string_view key, std::string_view type, std::string default_text,
                                          std::string bounds, Doc doc) {
  known_.insert(std::string(key));
  if (ctx_.describing()) {
    ctx_.document(FieldDoc{field(key), std::string(type), std::move(default_text), std::move(bounds),
                           std::string(doc.text), doc.required});
    return std::nullopt;
  }
  if (!valid_) return std::nullopt;
  YAML::Node n = node_[std::string(key)];
  if (!n.IsDefined()) {
    if (doc.required) ctx_.error(mark_, "missing required key '" + field(key) + "'");
    return std::nullopt;
  }
  ctx_.record(field(key), ctx_.at(n.Mark()));
  return n;
}

std::optional<std::string> MapReader::scalar(std::string_view key, const YAML::Node& node, std::string_view what) {
  return scalar_of(ctx_, node, field(key), what);
}

void MapReader::string(std::string_view key, std::string& out, std::string_view def, Doc doc) {
  out = std::string(def);
  auto node = take(key, "string", def.empty() ? "" : "\"" + std::string(def) + "\"", "", doc);
  if (!node) return;
  if (auto text = scalar(key, *node, "a string")) {
    if (doc.required && text->empty()) {
      ctx_.error(node->Mark(), field(key) + ": must not be empty");
    }
    out = *text;
  }
}

void MapReader::boolean(std::string_view key, bool& out, bool def, Doc doc) {
  out = def;
  auto node = take(key, "boolean", def ? "true" : "false", "", doc);
  if (!node) return;
  auto text = scalar(key, *node, "true or false");
  if (!text) return;
  if (*text == "true" || *text == "True") {
    out = true;
  } else if (*text == "false" || *text == "False") {
    out = false;
  } else {
    ctx_.error(node->Mark(), field(key) + ": expected true or false, found '" + *text + "'");
  }
}

namespace {

// A scalar kind with a parser and a canonical spelling, for values that have bounds.
struct UintKind {
  static constexpr const char* type = "integer";
  static constexpr const char* what = "an integer";
  static Result<std::uint32_t> parse(std::string_view text) {
    auto v = parse_uint(text);
    if (!v || *v > std::numeric_limits<std::uint32_t>::max()) return make_error("expected an integer");
    return static_cast<std::uint32_t>(*v);
  }
  static std::string format(std::uint32_t v) { return std::to_string(v); }
};

struct DurationKind {
  static constexpr const char* type = "duration";
  static constexpr const char* what = "a duration";
  static Result<Duration> parse(std::string_view text) { return parse_duration(text); }
  static std::string format(Duration d) { return format_duration(d); }
};

struct SizeKind {
  static constexpr const char* type = "size";
  static constexpr const char* what = "a size";
  static Result<std::uint64_t> parse(std::string_view text) { return parse_size(text); }
  static std::string format(std::uint64_t v) { return format_size(v); }
};

}  // namespace

template <typename Kind, typename T>
void MapReader::bounded(std::string_view key, T& out, T def, T min, T max, Doc doc) {
  out = def;
  auto node = take(key, Kind::type, Kind::format(def), Kind::format(min) + "–" + Kind::format(max), doc);
  if (!node) return;
  auto text = scalar(key, *node, Kind::what);
  if (!text) return;
  auto v = Kind::parse(*text);
  if (!v) {
    ctx_.error(node->Mark(), field(key) + ": '" + *text + "': " + v.error().message);
  } else if (*v < min || *v > max) {
    ctx_.error(node->Mark(), field(key) + ": " + *text + " is out of range " + Kind::format(min) + "–" + Kind::format(max));
  } else {
    out = *v;
  }
}

void MapReader::uint(std::string_view key, std::uint32_t& out, std::uint32_t def, std::uint32_t min,
                     std::uint32_t max, Doc doc) {
  bounded<UintKind>(key, out, def, min, max, doc);
}

void MapReader::port(std::string_view key, std::uint16_t& out, std::uint16_t def, Doc doc) {
  std::uint32_t v = def;
  uint(key, v, def, 1, 65535, doc);
  out = static_cast<std::uint16_t>(v);
}

void MapReader::duration(std::string_view key, Duration& out, Duration def, Duration min, Duration max, Doc doc) {
  bounded<DurationKind>(key, out, def, min, max, doc);
}

void MapReader::size(std::string_view key, std::uint64_t& out, std::uint64_t def, std::uint64_t min,
                     std::uint64_t max, Doc doc) {
  bounded<SizeKind>(key, out, def, min, max, doc);
}

void MapReader::optional_size(std::string_view key, std::optional<std::uint64_t>& out, Doc doc) {
  out.reset();
  auto node = take(key, "size", "", "", doc);
  if (!node) return;
  auto text = scalar(key, *node, "a size");
  if (!text) return;
  auto s = parse_size(*text);
  if (!s) {
    ctx_.error(node->Mark(), field(key) + ": '" + *text + "': " + s.error().message);
  } else {
    out = *s;
  }
}

void MapReader::path_value(std::string_view key, std::filesystem::path& out, std::string_view def, Doc doc) {
  out = std::filesystem::path(def);
  auto node = take(key, "path", std::string(def), "", doc);
  if (!node) return;
  if (auto text = scalar(key, *node, "a path")) {
    if (text->empty()) {
      ctx_.error(node->Mark(), field(key) + ": must not be empty");
    } else if (text->find('\0') != std::string::npos) {
      ctx_.error(node->Mark(), field(key) + ": path contains a NUL byte");
    } else {
      out = *text;
    }
  }
}

void MapReader::string_list(std::string_view key, std::vector<std::string>& out, std::vector<std::string> def, Doc doc) {
  std::string default_text;
  for (const auto& d : def) default_text += (default_text.empty() ? "" : ", ") + d;
  out = std::move(def);
  auto node = take(key, "list of strings", default_text.empty() ? "" : "[" + default_text + "]", "", doc);
  if (!node) return;
  if (!node->IsSequence()) {
    ctx_.error(node->Mark(), field(key) + ": expected a list, found " + node_kind(*node));
    return;
  }
  out.clear();
  for (std::size_t i = 0; i < node->size(); ++i) {
    if (auto text = scalar_of(ctx_, (*node)[i], field(key) + "[" + std::to_string(i) + "]", "a string")) {
      out.push_back(*text);
    }
  }
}

void MapReader::int_list(std::string_view key, std::vector<int>& out, std::vector<int> def, int min, int max, Doc doc) {
  std::string default_text;
  for (int d : def) default_text += (default_text.empty() ? "" : ", ") + std::to_string(d);
  out = std::move(def);
  auto node = take(key, "list of integers", "[" + default_text + "]", std::to_string(min) + "–" + std::to_string(max), doc);
  if (!node) return;
  if (!node->IsSequence()) {
    ctx_.error(node->Mark(), field(key) + ": expected a list, found " + node_kind(*node));
    return;
  }
  out.clear();
  for (std::size_t i = 0; i < node->size(); ++i) {
    const std::string item_field = field(key) + "[" + std::to_string(i) + "]";
    auto text = scalar_of(ctx_, (*node)[i], item_field, "an integer");
    if (!text) continue;
    auto v = parse_int(*text);
    if (!v) {
      ctx_.error((*node)[i].Mark(), item_field + ": expected an integer, found '" + *text + "'");
    } else if (*v < min || *v > max) {
      ctx_.error((*node)[i].Mark(), item_field + ": " + *text + " is out of range " + std::to_string(min) + "–" + std::to_string(max));
    } else {
      out.push_back(static_cast<int>(*v));
    }
  }
}

namespace {

Result<ListenAddress> parse_listen_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error("expected [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return make_error("'" + std::string(host) + "' is not an IPv6 address");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return make_error("expected HOST:PORT (e.g. 127.0.0.1:2525)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return make_error("write IPv6 addresses in brackets: [::1]:2525");
    in_addr a4{};
    if (host != "localhost" && inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
      return make_error("'" + std::string(host) + "' is not an IP address (listen addresses take no host names but localhost)");
    }
  }
  auto p = parse_uint(port);
  if (!p || *p > 65535) return make_error("'" + std::string(port) + "' is not a port number (0–65535)");
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(*p)};
}

}  // namespace

void MapReader::listen_address(std::string_view key, ListenAddress& out, std::string_view def, Doc doc) {
  if (!def.empty()) out = *parse_listen_address(def);
  auto node = take(key, "listen address", std::string(def), "HOST:PORT, [IPv6]:PORT", doc);
  if (!node) return;
  auto text = scalar(key, *node, "HOST:PORT");
  if (!text) return;
  auto a = parse_listen_address(*text);
  if (!a) {
    ctx_.error(node->Mark(), field(key) + ": '" + *text + "': " + a.error().message);
  } else {
    out = *a;
  }
}

void MapReader::secret(std::string_view key, std::optional<Secret>& out, Doc doc) {
  out.reset();
  const std::string file_key = std::string(key) + "_file";
  Doc inline_doc{doc.text, false};
  auto inline_node = take(key, "secret", "", "env:NAME only", inline_doc);
  auto file_node = take(file_key, "path", "", "", Doc{"File holding the secret (alternative to the key above).", false});
  if (ctx_.describing() || !valid_) return;
  if (inline_node && file_node) {
    ctx_.error(file_node->Mark(), field(key) + ": give either '" + std::string(key) + ": env:NAME' or '" + file_key + "', not both");
    return;
  }
  if (inline_node) {
    auto text = scalar(key, *inline_node, "env:NAME");
    if (!text) return;
    if (!text->starts_with("env:") || text->size() == 4) {
      ctx_.error(inline_node->Mark(), field(key) + ": secrets may not be written in the configuration; use '" +
                                          file_key + ": PATH' or '" + std::string(key) + ": env:NAME'");
      return;
    }
    out = Secret{Secret::Source::env, text->substr(4), ctx_.at(inline_node->Mark())};
    return;
  }
  if (file_node) {
    auto text = scalar(file_key, *file_node, "a path");
    if (!text) return;
    out = Secret{Secret::Source::file, *text, ctx_.at(file_node->Mark())};
    ctx_.files().push_back(FileRef{ctx_.at(file_node->Mark()), *text, FileRef::Kind::secret_file});
    return;
  }
  if (doc.required) {
    ctx_.error(mark_, "missing required key '" + field(file_key) + "' (or '" + field(key) + ": env:NAME')");
  }
}

void MapReader::translations(std::string_view key, std::map<Language, std::string>& out, Doc doc) {
  translations(key, out, {}, doc);
}

void MapReader::translations(std::string_view key, std::map<Language, std::string>& out,
                             const std::map<Language, std::string>& defaults, Doc doc) {
  out.clear();
  std::string default_text;
  for (const auto& [language, text] : defaults) {
    default_text += (default_text.empty() ? "" : "; ") + std::string(to_string(language)) + ": \"" + text + "\"";
  }
  auto node = take(key, "text per language", default_text, "keys fi, sv, en", doc);
  for (const auto& [language, text] : defaults) out[language] = text;
  if (!node) return;
  if (node->IsScalar()) {  // one text for every language
    for (Language l : {Language::fi, Language::sv, Language::en}) out[l] = node->Scalar();
    return;
  }
  MapReader r(ctx_, *node, field(key));
  for (Language l : {Language::fi, Language::sv, Language::en}) {
    std::string text;
    r.string(to_string(l), text, "", Doc{});
    if (r.has(to_string(l))) out[l] = text;
  }
}

bool MapReader::object(std::string_view key, Doc doc, const std::function<void(MapReader&)>& read) {
  if (ctx_.describing()) {
    take(key, "mapping", "", "", doc);
    MapReader r(ctx_, YAML::Node(), field(key));
    read(r);
    return true;
  }
  auto node = take(key, "mapping", "", "", doc);
  if (!node) return false;
  MapReader r(ctx_, *node, field(key), node->Mark());
  if (!r.valid_) return false;
  read(r);
  return true;
}

void MapReader::sequence(std::string_view key, Doc doc, std::string_view item_type,
                         const std::function<void(const YAML::Node&, const std::string&)>& read) {
  if (ctx_.describing()) {
    take(key, "list of " + std::string(item_type), "", "", doc);
    read(YAML::Node(), field(key) + "[]");
    return;
  }
  auto node = take(key, "list", "", "", doc);
  if (!node) return;
  if (!node->IsSequence()) {
    ctx_.error(node->Mark(), field(key) + ": expected a list, found " + node_kind(*node));
    return;
  }
  for (std::size_t i = 0; i < node->size(); ++i) read((*node)[i], field(key) + "[" + std::to_string(i) + "]");
}

std::optional<YAML::Node> MapReader::raw(std::string_view key, std::string_view type, Doc doc) {
  return take(key, type, "", "", doc);
}

}  // namespace sinetti::config::detail
