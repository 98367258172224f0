// Identifiers Sinetti hands out: queue ids for messages ("250 2.0.0 Ok: queued as ID") and the
// local part of generated Message-IDs. Time-ordered (so listings sort by arrival) and random enough
// that two never meet. No untrusted input.
#pragma once

#include <string>

#include "sinetti/clock.hpp"

namespace sinetti::ingest {

// 18 characters of Crockford base32: 50 bits of milliseconds since the epoch, then 40 random bits.
std::string new_message_id(const Clock& clock);

}  // namespace sinetti::ingest
