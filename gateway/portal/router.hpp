// The portal's routes (DESIGN "Portal paths"): which page a method and path ask for. Pure; the
// token is only cut out of the path here, never judged (an unknown token is the handler's business,
// answered like an expired one). Untrusted input: the request target.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sinetti::portal {

enum class RouteKind {
  landing,        // GET /m/{token}
  pin,            // POST /m/{token}/pin — send a PIN
  unlock,         // POST /m/{token}/unlock — field pin, or the device confirmation
  pin_missing,    // POST /m/{token}/no-pin — "I did not get the PIN" (tells the sender)
  read,           // GET /m/{token}/read
  attachment,     // GET /m/{token}/attachment/{n}
  reply,          // POST /m/{token}/reply
  // Client-initiated messages (strong identification first):
  new_form,           // GET /new — identify, or the form to write to a team
  new_submit,         // POST /new — seal the message, start the thread, notify the team
  threads,            // GET /threads — the identified client's own threads
  thread,             // GET /threads/{thread} — its messages (token: the thread id)
  thread_sent,        // GET /threads/{thread}/sent/{message} — the receipt (item: the message id)
  thread_attachment,  // GET /threads/{thread}/attachment/{message}/{n}
  thread_reply,       // POST /threads/{thread}/reply — a further message in the thread
  auth_start,     // GET /auth/{provider}/start — redirect to the provider (token: the provider id)
  auth_callback,  // GET /auth/{provider}/callback — the provider's answer
  auth_jwks,      // GET /auth/jwks.json — our public keys (request objects, client assertions, encryption)
  // ---- staff: team messages, staff sign-in (handler.cpp "staff views") ----
  staff_home,        // GET /staff — the signed-in member's teams and their open team messages
  staff_landing,     // GET /staff/m/{token} — sign-in offer, the "Open" button, or who claimed it
  staff_claim,       // POST /staff/m/{token}/claim — the first member to press it claims the message
  staff_release,     // POST /staff/m/{token}/release — team lead: unclaimed again
  staff_reassign,    // POST /staff/m/{token}/reassign — team lead: field `member` (a subject)
  staff_read,        // GET /staff/m/{token}/read — the claimant only
  staff_attachment,  // GET /staff/m/{token}/attachment/{n} — the claimant only
  staff_reply,       // POST /staff/m/{token}/reply — the claimant's reply to the client
  accessibility,  // GET /accessibility — the accessibility statement
  stylesheet,     // GET /static/portal.css
  home,           // GET / — says to use the link from the mail
  not_found,      // nothing here
};

struct Route {
  RouteKind kind = RouteKind::not_found;
  std::string token;                   // for /m/{token}/...; the provider id for /auth/{provider}/...
  std::optional<std::size_t> index;    // attachment number
  std::string item;                    // /threads/{thread}/...: the message id
  bool method_allowed = true;          // false: the path exists, the method does not (405)
  std::string_view allow;              // the Allow header for a 405
};

// Longest token segment considered at all; longer ones are not found (no lookup wasted on them).
inline constexpr std::size_t max_token_segment = 128;

// `path` without the query string, as sent (percent-escapes are not decoded: none is valid here).
Route route(std::string_view method, std::string_view path);

// Whether answering the route reads or writes the store (or sends an SMS): those are handled on
// the worker pool; the others (the stylesheet, the statement, errors) are only rendering.
bool needs_store(const Route& route);

}  // namespace sinetti::portal
