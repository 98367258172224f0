#include "gateway/portal/html_sanitizer.hpp"

#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <vector>

#include "gateway/portal/content.hpp"
#include "gateway/portal/http.hpp"

namespace sinetti::portal {

namespace {

// Kept, with their allowed attributes.
constexpr std::array kept_elements = {
    "a",       "abbr",  "address", "b",     "bdi",  "bdo",   "big",   "blockquote", "br",     "caption", "center",
    "cite",    "code",  "col",     "colgroup", "dd", "del",  "dfn",   "div",        "dl",     "dt",      "em",
    "font",    "h1",    "h2",      "h3",    "h4",   "h5",    "h6",    "hr",         "i",      "img",     "ins",
    "kbd",     "li",    "mark",    "ol",    "p",    "pre",   "q",     "s",          "samp",   "small",   "span",
    "strike",  "strong", "sub",    "sup",   "table", "tbody", "td",   "tfoot",      "th",     "thead",   "tr",
    "tt",      "u",     "ul",      "var",   "wbr",  "figure", "figcaption", "section", "article", "header",
    "footer",  "main",  "nav",     "aside", "time", "small"};

// Dropped together with everything inside them.
constexpr std::array dropped_elements = {
    "script", "style", "noscript", "template", "iframe", "frame",  "frameset", "object", "embed",  "applet",
    "svg",    "math",  "head",     "title",    "textarea", "select", "option", "button", "input",  "link",
    "meta",   "base",  "audio",    "video",    "canvas", "source", "track",    "param",  "map",    "area",
    "picture", "dialog", "portal"};

constexpr std::array void_elements = {"br", "hr", "img", "col", "wbr"};

constexpr std::array global_attributes = {
    "title",  "lang",   "dir",     "align",   "valign", "width",  "height", "style",   "colspan", "rowspan",
    "border", "cellpadding", "cellspacing", "bgcolor", "color", "face", "size", "start", "type", "summary",
    "abbr",   "scope",  "headers", "span",    "nowrap", "hspace", "vspace", "alt",     "datetime", "cite"};

template <std::size_t N>
bool in(const std::array<const char*, N>& list, std::string_view name) {
  return std::any_of(list.begin(), list.end(), [&](const char* s) { return name == s; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string tag_name(const GumboElement& e) {
  if (e.tag != GUMBO_TAG_UNKNOWN) return gumbo_normalized_tagname(e.tag);
  GumboStringPiece piece = e.original_tag;
  gumbo_tag_from_original_text(&piece);
  return lower(std::string_view(piece.data, piece.length));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

// Only styles that cannot fetch, run or escape: anything with url(), expressions, imports,
// bindings or escapes (which could spell those) is dropped whole.
bool safe_style(std::string_view style) {
  const std::string s = lower(style);
  for (const char* bad : {"url(", "expression", "@import", "javascript:", "behavior", "binding", "\\", "image-set", "&#"}) {
    if (s.find(bad) != std::string::npos) return false;
  }
  return style.size() <= 2048;
}

bool safe_link(std::string_view href) {
  const std::string h = lower(trim(href));
  return h.starts_with("https://") || h.starts_with("http://") || h.starts_with("mailto:");
}

bool safe_data_image(std::string_view src) {
  const std::string s = lower(trim(src).substr(0, 32));
  for (const char* t : {"data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;"}) {
    if (s.starts_with(t)) return true;
  }
  return false;
}

std::string strip_cid(std::string_view src) {
  std::string_view v = trim(src);
  v.remove_prefix(4);  // "cid:"
  std::string id = percent_decode(v, false);
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  return id;
}

std::size_t count_tags(std::string_view html) {
  return static_cast<std::size_t>(std::count(html.begin(), html.end(), '<'));
}

class Writer {
 public:
  explicit Writer(const std::function<std::optional<std::string>(std::string_view)>& inline_image)
      : inline_image_(inline_image) {}

  void run(const GumboNode* body) {
    struct Frame {
      const GumboNode* node;
      std::size_t next_child;
      std::string closing;  // written when the frame is done; empty: unwrapped
    };
    std::vector<Frame> stack;
    stack.push_back({body, 0, {}});
    while (!stack.empty()) {
      Frame& f = stack.back();
      const GumboVector& children = f.node->v.element.children;
      if (f.next_child >= children.length) {
        out_.body += f.closing;
        stack.pop_back();
        continue;
      }
      const auto* child = static_cast<const GumboNode*>(children.data[f.next_child++]);
      switch (child->type) {
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_WHITESPACE:
        case GUMBO_NODE_CDATA:
          out_.body += html_escape(child->v.text.text);
          break;
        case GUMBO_NODE_ELEMENT:
        case GUMBO_NODE_TEMPLATE: {
          const std::string name = tag_name(child->v.element);
          if (in(dropped_elements, name) || child->v.element.tag_namespace != GUMBO_NAMESPACE_HTML) break;
          std::string closing;
          if (in(kept_elements, name) && stack.size() <= max_html_depth) {
            open_tag(name, child->v.element.attributes);
            if (in(void_elements, name)) break;
            closing = "</" + name + ">";
          }
          stack.push_back({child, 0, std::move(closing)});
          break;
        }
        default:  // comments, the document
          break;
      }
    }
  }

  SanitizedHtml result() { return std::move(out_); }

 private:
  void attribute(const std::string& name, std::string_view value) {
    out_.body += " " + name + "=\"" + html_escape(value) + "\"";
  }

  void open_tag(const std::string& name, const GumboVector& attributes) {
    out_.body += "<" + name;
    for (unsigned i = 0; i < attributes.length; ++i) {
      const auto* a = static_cast<const GumboAttribute*>(attributes.data[i]);
      const std::string attr = lower(a->name);
      const std::string_view value = a->value;
      if (name == "a" && attr == "href") {
        if (safe_link(value)) {
          attribute("href", trim(value));
          attribute("target", "_blank");
          attribute("rel", "noopener noreferrer nofollow");
        }
        continue;
      }
      if (name == "img" && attr == "src") {
        const std::string v = lower(trim(value).substr(0, 4));
        if (v == "cid:") {
          const std::string cid = strip_cid(value);
          if (auto uri = inline_image_(cid)) {
            attribute("src", *uri);
            out_.used_cids.insert(cid);
          }
        } else if (safe_data_image(value)) {
          attribute("src", trim(value));
        } else {
          out_.remote_images_blocked = true;
        }
        continue;
      }
      if (attr == "style" && !safe_style(value)) continue;
      if (in(global_attributes, attr)) attribute(attr, value);
    }
    out_.body += ">";
  }

  const std::function<std::optional<std::string>(std::string_view)>& inline_image_;
  SanitizedHtml out_;
};

const GumboNode* find_body(const GumboNode* root) {
  if (root == nullptr || root->type != GUMBO_NODE_ELEMENT) return nullptr;
  const GumboVector& children = root->v.element.children;
  for (unsigned i = 0; i < children.length; ++i) {
    const auto* c = static_cast<const GumboNode*>(children.data[i]);
    if (c->type == GUMBO_NODE_ELEMENT && c->v.element.tag == GUMBO_TAG_BODY) return c;
  }
  return nullptr;
}

}  // namespace

std::optional<SanitizedHtml> sanitize_html(std::string_view html,
                                           const std::function<std::optional<std::string>(std::string_view)>& inline_image) {
  if (count_tags(html) > max_html_tags) return std::nullopt;
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 100;
  const std::unique_ptr<GumboOutput, std::function<void(GumboOutput*)>> output(
      gumbo_parse_with_options(&options, html.data(), html.size()),
      [&options](GumboOutput* o) { gumbo_destroy_output(&options, o); });
  Writer writer(inline_image);
  if (const GumboNode* body = find_body(output->root)) writer.run(body);
  return writer.result();
}

std::string frame_document(const SanitizedHtml& html, std::string_view lang) {
  std::string doc = "<!DOCTYPE html><html lang=\"" + html_escape(lang) + "\"><head><meta charset=\"utf-8\">";
  doc += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">";
  doc += "<style>body{font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a;background:#fff;margin:8px;"
         "overflow-wrap:anywhere}img{max-width:100%;height:auto}a{color:#0b4f8a}</style></head><body>";
  doc += html.body;
  doc += "</body></html>";
  return doc;
}

}  // namespace sinetti::portal
