// HttpClient over libcurl for the relying party: one easy handle per request, TLS verified against
// the system store, 10 s timeouts, bodies capped at max_http_body, no redirects followed, only
// http and https. Blocking: call from the worker pool.
#pragma once

#include <memory>

#include "gateway/auth/relying_party.hpp"

namespace sinetti::auth {

std::shared_ptr<HttpClient> make_curl_http_client();

}  // namespace sinetti::auth
