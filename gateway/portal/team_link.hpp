// Which read links are a team's: a team copy's link opens with staff sign-in only (/staff/m/...),
// never by device confirmation, PIN or citizen identification. A link is a team link when its
// recipient is a configured team's shared mailbox — ingest's team copies and the client's /new
// messages create their read tokens that way (ReadToken::recipient = teams[].mailbox). Pure.
#pragma once

#include "config/config.hpp"
#include "gateway/store/store.hpp"

namespace sinetti::portal {

// The team whose mailbox the link was sent to (compared case-insensitively), or null.
const config::Team* team_of_link(const config::Config& config, const store::ReadToken& token);

}  // namespace sinetti::portal
