// Private to smtp/mime: a seekable GMimeStream over a mime::ByteSource, so GMime can parse a message
// that is not in memory or in a plain file — a sealed message in the store, decrypted chunk by chunk
// as GMime reads. Substreams share the source. No untrusted input is interpreted here.
#pragma once

#include <memory>

#include "smtp/mime/gmime_handles.hpp"
#include "smtp/mime/message.hpp"

namespace sinetti::mime::detail {

// A new stream over the whole source (one reference, owned by the caller).
GObjectPtr<GMimeStream> make_source_stream(std::shared_ptr<ByteSource> source);

}  // namespace sinetti::mime::detail
