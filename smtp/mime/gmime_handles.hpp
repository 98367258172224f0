// Private to smtp/mime: owning handles for GMime/GLib objects and the once-per-process g_mime_init().
// No protocol logic and no untrusted input here; everything that parses lives in tree.cpp.
#pragma once

#include <memory>

#include "smtp/mime/gmime_include.hpp"

namespace sinetti::mime::detail {

// Initialises GMime exactly once per process (thread-safe); never shut down, GMime's tables live
// as long as the process.
void ensure_gmime();

struct GObjectUnref {
  void operator()(void* object) const noexcept {
    if (object != nullptr) g_object_unref(object);
  }
};
// Owns one reference to a GObject-derived instance (GMimeStream, GMimeMessage, GMimeFilter, ...).
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(void* memory) const noexcept { g_free(memory); }
};
using GCharPtr = std::unique_ptr<char, GFree>;

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* options) const noexcept {
    if (options != nullptr) g_mime_parser_options_free(options);
  }
};
using ParserOptionsPtr = std::unique_ptr<GMimeParserOptions, ParserOptionsFree>;

// GObject type checks and down-casts without GLib's C-style cast macros.
template <typename T>
bool is_a(T* instance, GType type) noexcept {
  return instance != nullptr &&
         g_type_check_instance_is_a(reinterpret_cast<GTypeInstance*>(instance), type) != FALSE;
}
template <typename To, typename From>
To* as(From* instance) noexcept {
  return reinterpret_cast<To*>(instance);
}

}  // namespace sinetti::mime::detail
