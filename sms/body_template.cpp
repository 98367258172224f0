#include "sms/body_template.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "sinetti/placeholders.hpp"

namespace sinetti::sms {

using Json = nlohmann::ordered_json;  // keeps the operator's field order (form fields, readable bodies)

struct BodyTemplate::Parsed {
  config::HttpBodyFormat format = config::HttpBodyFormat::json;
  Json body;
};

namespace {

constexpr std::string_view known_placeholders[] = {"to_e164", "to_digits", "text", "ref", "sender"};
constexpr std::size_t max_template_bytes = 16 * 1024;
constexpr std::size_t max_depth = 16;

bool known(std::string_view name) {
  for (auto k : known_placeholders) {
    if (k == name) return true;
  }
  return false;
}

std::string known_list() {
  std::string out;
  for (auto k : known_placeholders) out += (out.empty() ? "{{" : ", {{") + std::string(k) + "}}";
  return out;
}

void check_string(const std::string& path, const std::string& value, std::vector<std::string>& problems) {
  auto parts = split_placeholders(value);
  if (!parts) {
    problems.push_back(path + ": " + parts.error().message);
    return;
  }
  for (const auto& part : *parts) {
    if (part.placeholder && !known(part.text)) {
      problems.push_back(path + ": unknown placeholder {{" + std::string(part.text) + "}} (use " + known_list() + ")");
    }
  }
}

void check_node(const std::string& path, const Json& node, std::size_t depth, std::vector<std::string>& problems) {
  if (depth > max_depth) {
    problems.push_back(path + ": nested deeper than " + std::to_string(max_depth) + " levels");
    return;
  }
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key.find("{{") != std::string::npos) problems.push_back(path + "." + key + ": placeholders belong in values, not in keys");
      check_node(path + "." + key, value, depth + 1, problems);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) check_node(path + "[" + std::to_string(i) + "]", node[i], depth + 1, problems);
  } else if (node.is_string()) {
    check_string(path, node.get_ref<const std::string&>(), problems);
  }
}

const std::string* value_of(const TemplateValues& v, std::string_view name) {
  if (name == "to_e164") return &v.to_e164;
  if (name == "to_digits") return &v.to_digits;
  if (name == "text") return &v.text;
  if (name == "ref") return &v.ref;
  if (name == "sender") return &v.sender;
  return nullptr;
}

std::string substitute(const std::string& text, const TemplateValues& values) {
  auto parts = split_placeholders(text);
  if (!parts) return text;  // impossible after check(); keep the text rather than guess
  std::string out;
  for (const auto& part : *parts) {
    if (!part.placeholder) {
      out += part.text;
    } else if (const std::string* v = value_of(values, part.text)) {
      out += *v;
    }
  }
  return out;
}

void substitute_json(Json& node, const TemplateValues& values) {
  if (node.is_object() || node.is_array()) {
    for (auto& child : node) substitute_json(child, values);
    return;
  }
  if (!node.is_string()) return;
  const auto& text = node.get_ref<const std::string&>();
  if (text == "{{to_digits}}") {
    std::uint64_t number = 0;
    const auto& d = values.to_digits;
    const auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), number);
    if (ec == std::errc{} && end == d.data() + d.size() && !d.empty()) {
      node = number;
      return;
    }
  }
  node = substitute(text, values);
}

// Whether some string value contains `needle`.
bool mentions(const Json& node, std::string_view needle) {
  if (node.is_structured()) {
    for (const auto& child : node) {
      if (mentions(child, needle)) return true;
    }
    return false;
  }
  return node.is_string() && node.get_ref<const std::string&>().find(needle) != std::string::npos;
}

std::string form_value(const Json& value, const TemplateValues& values) {
  if (value.is_string()) return substitute(value.get_ref<const std::string&>(), values);
  return value.dump();  // numbers and booleans as written
}

}  // namespace

std::string form_urlencode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' || c == '-' ||
        c == '.' || c == '_') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  return out;
}

std::vector<std::string> BodyTemplate::check(config::HttpBodyFormat format, std::string_view json_text) {
  std::vector<std::string> problems;
  if (json_text.size() > max_template_bytes) {
    problems.push_back("body: larger than " + std::to_string(max_template_bytes / 1024) + " KiB");
    return problems;
  }
  const Json body = Json::parse(json_text, nullptr, false);
  if (body.is_discarded()) {
    problems.push_back("body: not valid JSON");
    return problems;
  }
  if (!body.is_object()) {
    problems.push_back("body: expected a mapping");
    return problems;
  }
  if (body.empty()) problems.push_back("body: has no fields");
  check_node("body", body, 0, problems);
  if (format == config::HttpBodyFormat::form) {
    for (const auto& [key, value] : body.items()) {
      if (!value.is_string() && !value.is_number() && !value.is_boolean()) {
        problems.push_back("body." + key + ": format form takes text fields only (no lists, mappings or null)");
      }
    }
  }
  if (!mentions(body, "{{to_e164}}") && !mentions(body, "{{to_digits}}")) {
    problems.push_back("body: no field holds the recipient ({{to_e164}} or {{to_digits}})");
  }
  if (!mentions(body, "{{text}}")) problems.push_back("body: no field holds the message ({{text}})");
  return problems;
}

Result<BodyTemplate> BodyTemplate::compile(config::HttpBodyFormat format, std::string_view json_text) {
  const auto problems = check(format, json_text);
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p;
    return make_error(message);
  }
  auto parsed = std::make_unique<Parsed>();
  parsed->format = format;
  parsed->body = Json::parse(json_text);
  return BodyTemplate(std::move(parsed));
}

BodyTemplate::BodyTemplate(std::unique_ptr<Parsed> parsed) : parsed_(std::move(parsed)) {}
BodyTemplate::BodyTemplate(BodyTemplate&&) noexcept = default;
BodyTemplate& BodyTemplate::operator=(BodyTemplate&&) noexcept = default;
BodyTemplate::~BodyTemplate() = default;

RenderedBody BodyTemplate::render(const TemplateValues& values) const {
  if (parsed_->format == config::HttpBodyFormat::form) {
    std::string body;
    for (const auto& [key, value] : parsed_->body.items()) {
      if (!body.empty()) body += '&';
      body += form_urlencode(key) + "=" + form_urlencode(form_value(value, values));
    }
    return {"application/x-www-form-urlencoded", std::move(body)};
  }
  Json body = parsed_->body;
  substitute_json(body, values);
  return {"application/json", body.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

}  // namespace sinetti::sms
