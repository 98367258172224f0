// Client-initiated protected messages (DESIGN flow 2, "Protected, client → team"): what a strongly
// identified client writes to a team in the portal (`POST /new`, `POST /threads/{id}/reply`),
// checked field by field, and the one commit that makes it durable — the sealed message, the
// thread bound to the client's identity key (a new one, or the thread it continues), the team's
// read link and per-thread reply address, the team notification, and the audit records.
//
// The message is stored exactly like a protected *team* copy from ingest, so the staff views open
// it the same way: kind protected, level letter, team_id and thread_id set, recipient the team's
// mailbox, its read token's recipient the team's mailbox, a reply token beside it, the
// team-notification mail (no content, Reply-To the reply address) queued to the mailbox. Its
// envelope sender is empty (<>): the client has no address here, and a failed notification must
// not bounce anywhere. That empty sender, with a level other than personal and the team's mailbox
// as the only recipient (ingest's team copies name the team's public address), is what marks a
// message in a thread as written by the client in the portal (`written_by_client`).
//
// Untrusted input: the form fields and file parts (within portal.max_body_size, which the
// listener enforces before the handler runs).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "gateway/auth/identity.hpp"
#include "gateway/portal/handler.hpp"
#include "gateway/portal/multipart.hpp"

namespace sinetti::portal {

// The same limits as the portal reply (POST /m/{token}/reply).
inline constexpr std::size_t max_client_text = 100 * 1024;
inline constexpr std::size_t max_client_files = 10;
inline constexpr std::size_t max_client_subject = 200;  // bytes of UTF-8
inline constexpr std::size_t max_client_address = 254;  // RFC 5321 path limit less the brackets

// What the client sent.
struct ClientDraft {
  std::string team_id;  // POST /new only; a reply goes to the thread's team
  std::string subject;  // POST /new only
  std::string text;
  std::string address;  // POST /new only, optional: where the client's notifications go
  std::vector<const FormPart*> files;  // file fields with a name and content
};

// What is wrong with a draft, per field.
struct DraftErrors {
  bool team_unknown = false;
  bool subject_empty = false;
  bool subject_long = false;
  bool subject_encoding = false;  // not UTF-8, or control characters
  bool text_empty = false;
  bool text_long = false;
  bool text_encoding = false;
  bool files_many = false;
  bool files_large = false;  // together beyond portal.max_body_size
  bool address_invalid = false;  // not a plain address (plain_address)
  bool address_ours = false;     // one of the gateway's own domains or a team's address

  bool subject() const { return subject_empty || subject_long || subject_encoding; }
  bool text() const { return text_empty || text_long || text_encoding; }
  bool files() const { return files_many || files_large; }
  bool address() const { return address_invalid || address_ours; }
  bool any() const { return team_unknown || subject() || text() || files() || address(); }
};

// A plain mailbox address: local@domain, at most max_client_address bytes, exactly one '@',
// printable ASCII without spaces, quotes, angle brackets, parentheses, commas, semicolons or
// backslashes (no quoted local part, no display name, no address list, no comment), a dot-atom
// local part and a domain of dot-separated LDH labels with at least one dot (no address literal).
bool plain_address(std::string_view address);

// Whether `address` (plain) is the gateway's own: a team's public address or mailbox, or in a
// domain the gateway receives or sends for (listener domains, the team addresses' domains, the
// reply domain, the notification sender's domain, the public host). Case-insensitive.
bool own_address(const config::Config& config, std::string_view address);

// `with_team_and_subject`: POST /new (team, subject and the optional notification address); false for a reply in a thread (text and files only).
DraftErrors check_draft(const config::Config& config, const ClientDraft& draft, bool with_team_and_subject);

// The draft's text as typed, trailing white space removed (browsers send CRLF).
std::string trim_trailing_space(std::string text);

// The team's name in `language`, else in any language it has, else its id.
std::string team_display_name(const config::Team& team, config::Language language);

struct ClientMessage {
  std::string message_id;
  std::string thread_id;
  store::CommitBatch batch;
};

// Everything one client message makes durable, for one Store::commit. `thread`: the thread it
// continues (its team is `team`), or null to start a new thread bound to `client` (a citizen
// identity). A valid draft only (check_draft).
Result<ClientMessage> build_client_message(const PortalContext& context, const config::Team& team,
                                           const store::Thread* thread, const auth::Identity& client,
                                           config::Language language, const ClientDraft& draft);

// Whether a message of a thread is one the client wrote in the portal (see above).
bool written_by_client(const config::Config& config, const store::MessageMeta& message);

}  // namespace sinetti::portal
