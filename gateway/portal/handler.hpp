// The portal's request handling as a function from a request (and the session its cookie names) to
// a response, with no sockets: the listener (portal_listener.hpp) calls it on the worker pool, unit
// tests call it directly. It owns the robots rule (DESIGN "Robots"): a GET never sends an SMS,
// consumes a PIN, confirms a device or changes a message — state changes only on POST with the
// session cookie and the CSRF token of a page a person was shown. Unknown, expired and revoked read
// links get the same page after the same single store lookup. Untrusted input: the whole request.
#pragma once

#include <memory>
#include <optional>

#include "config/config.hpp"
#include "crypto/key_ring.hpp"
#include "gateway/auth/providers.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/log.hpp"
#include "gateway/portal/http.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"
#include "sms/sender.hpp"

namespace sinetti::portal {

class PhoneTails;

// What handling needs; all of it outlives the call. Blocking: store reads and writes, the SMS
// sender — call handle() from the worker pool, never from an I/O thread.
struct PortalContext {
  const config::Config& config;
  const i18n::Templates& templates;  // built-in page templates, overridden from notifications.templates_dir
  store::Store& store;
  const crypto::KeyRing& ring;       // Access::open: opens data keys; server secrets "pin-mac", "session"
  sms::SmsSender* sms = nullptr;     // null: no PIN can be sent (the page says sending failed)
  const Clock& clock;
  const log::Logger& logger;
  auth::Providers* oidc = nullptr;   // null: no identity provider configured (personal level says so)
  PhoneTails* phone_tails = nullptr;  // null: the landing page opens the sealed number every time
};

// Strong identification (GET /auth/{provider}/start and /callback): start keeps the sign-in under
// way in the session (creating one) and redirects to the provider — it changes no message; the
// callback takes the sign-in out of the session first (single use), lets the relying party check
// state, code, ID token and identity, binds the identity to the session under a new session id,
// and then, when the sign-in began on a personal message's landing page, opens the message if the
// identity key is the message's, or refuses neutrally and audits `unlock.identity` `mismatch`.
//
// Every response carries the security headers (add_security_headers). A response with `stream`
// (a download) produces its body on the worker pool after the head is written.
Response handle(const Request& request, const PortalContext& context);

// The error page for a status the listener answers itself (400, 413, 431, 500), in the instance's
// default language.
Response error_response(const PortalContext& context, int status);

}  // namespace sinetti::portal
