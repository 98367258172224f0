// Test support: lets Boost.Test print TextSpan values and vectors of them in failure messages.
#pragma once

#include <ostream>

#include "gateway/routing/detectors.hpp"

namespace sinetti::routing {

inline std::ostream& boost_test_print_type(std::ostream& out, const TextSpan& span) {
  return out << "{offset " << span.offset << ", length " << span.length << "}";
}

}  // namespace sinetti::routing
