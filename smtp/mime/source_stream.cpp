// A GMimeStream subclass over mime::ByteSource. Positions are absolute offsets into the source;
// bound_start/bound_end (GMimeStream's own fields) limit a substream, bound_end -1 meaning "to the
// end of the source". A read error of the source makes read() return -1; the source remembers it so
// the caller can report it after the parse.
#include "smtp/mime/source_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <new>

namespace sinetti::mime::detail {

namespace {

struct SourceStream {
  GMimeStream parent;
  std::shared_ptr<ByteSource>* source;  // heap-allocated holder: GObject instances are C structs
};

struct SourceStreamClass {
  GMimeStreamClass parent_class;
};

GMimeStreamClass* parent_class = nullptr;

ByteSource& source_of(GMimeStream* stream) { return **as<SourceStream>(stream)->source; }

gint64 end_of(GMimeStream* stream) {
  const auto size = static_cast<gint64>(source_of(stream).size());
  return stream->bound_end == -1 ? size : std::min(stream->bound_end, size);
}

ssize_t stream_read(GMimeStream* stream, char* buf, size_t len) {
  const gint64 end = end_of(stream);
  if (stream->position < stream->bound_start || stream->position > end) {
    errno = EINVAL;
    return -1;
  }
  const auto left = static_cast<std::uint64_t>(end - stream->position);
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(
      {left, len, static_cast<std::uint64_t>(std::numeric_limits<ssize_t>::max())}));
  if (want == 0) return 0;
  auto n = source_of(stream).read_at(static_cast<std::uint64_t>(stream->position), std::span<char>(buf, want));
  if (!n) {
    errno = EIO;
    return -1;
  }
  stream->position += static_cast<gint64>(*n);
  return static_cast<ssize_t>(*n);
}

ssize_t stream_write(GMimeStream*, const char*, size_t) {
  errno = EBADF;  // read-only
  return -1;
}

int stream_flush(GMimeStream*) { return 0; }
int stream_close(GMimeStream*) { return 0; }

gboolean stream_eos(GMimeStream* stream) { return stream->position >= end_of(stream) ? TRUE : FALSE; }

int stream_reset(GMimeStream* stream) {
  stream->position = stream->bound_start;
  return 0;
}

gint64 stream_seek(GMimeStream* stream, gint64 offset, GMimeSeekWhence whence) {
  const gint64 end = end_of(stream);
  gint64 target = 0;
  switch (whence) {
    case GMIME_STREAM_SEEK_SET: target = stream->bound_start + offset; break;
    case GMIME_STREAM_SEEK_CUR: target = stream->position + offset; break;
    case GMIME_STREAM_SEEK_END: target = end + offset; break;
    default: errno = EINVAL; return -1;
  }
  if (target < stream->bound_start || target > end) {
    errno = EINVAL;
    return -1;
  }
  stream->position = target;
  return target;
}

gint64 stream_tell(GMimeStream* stream) { return stream->position; }

gint64 stream_length(GMimeStream* stream) { return end_of(stream) - stream->bound_start; }

GMimeStream* new_stream(const std::shared_ptr<ByteSource>& source, gint64 start, gint64 end);

GMimeStream* stream_substream(GMimeStream* stream, gint64 start, gint64 end) {
  return new_stream(*as<SourceStream>(stream)->source, start, end);
}

void stream_finalize(GObject* object) {
  auto* self = as<SourceStream>(object);
  delete self->source;
  self->source = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

void class_init(gpointer klass, gpointer) {
  auto* stream_class = static_cast<GMimeStreamClass*>(klass);
  parent_class = static_cast<GMimeStreamClass*>(g_type_class_peek_parent(klass));
  G_OBJECT_CLASS(klass)->finalize = stream_finalize;
  stream_class->read = stream_read;
  stream_class->write = stream_write;
  stream_class->flush = stream_flush;
  stream_class->close = stream_close;
  stream_class->eos = stream_eos;
  stream_class->reset = stream_reset;
  stream_class->seek = stream_seek;
  stream_class->tell = stream_tell;
  stream_class->length = stream_length;
  stream_class->substream = stream_substream;
}

void instance_init(GTypeInstance* instance, gpointer) { as<SourceStream>(instance)->source = nullptr; }

GType source_stream_type() {
  static const GType type = [] {
    GTypeInfo info{};
    info.class_size = sizeof(SourceStreamClass);
    info.class_init = class_init;
    info.instance_size = sizeof(SourceStream);
    info.instance_init = instance_init;
    return g_type_register_static(g_mime_stream_get_type(), "SinettiSourceStream", &info, GTypeFlags{});
  }();
  return type;
}

GMimeStream* new_stream(const std::shared_ptr<ByteSource>& source, gint64 start, gint64 end) {
  auto* stream = static_cast<GMimeStream*>(g_object_new(source_stream_type(), nullptr));
  as<SourceStream>(stream)->source = new std::shared_ptr<ByteSource>(source);
  g_mime_stream_construct(stream, start, end);
  return stream;
}

}  // namespace

GObjectPtr<GMimeStream> make_source_stream(std::shared_ptr<ByteSource> source) {
  ensure_gmime();
  return GObjectPtr<GMimeStream>(new_stream(source, 0, -1));
}

}  // namespace sinetti::mime::detail
