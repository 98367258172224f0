#include "gateway/portal/team_link.hpp"

#include <algorithm>
#include <cctype>

namespace sinetti::portal {

namespace {

bool same_address(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const config::Team* team_of_link(const config::Config& config, const store::ReadToken& token) {
  if (token.recipient.empty()) return nullptr;
  for (const auto& team : config.teams) {
    if (!team.mailbox.empty() && same_address(team.mailbox, token.recipient)) return &team;
  }
  return nullptr;
}

}  // namespace sinetti::portal
