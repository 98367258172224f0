#include "gateway/ingest/plan.hpp"

namespace sinetti::ingest {

using config::Action;

Plan make_plan(const routing::Routed& routed) {
  Plan plan;
  plan.language = routed.marks.language;
  for (const auto& d : routed.decisions) {
    switch (d.action) {
      case Action::Kind::forward: {
        auto it = std::find_if(plan.forwards.begin(), plan.forwards.end(),
                               [&](const ForwardCopy& f) { return f.team == d.team; });
        if (it == plan.forwards.end()) it = plan.forwards.insert(plan.forwards.end(), ForwardCopy{d.team, {}});
        it->recipients.push_back(d.recipient);
        break;
      }
      case Action::Kind::protect: {
        auto same = [&](const ProtectedCopy& p) {
          return p.level == d.level && p.phone == d.phone && p.identity_bound == d.identity_bound && p.team == d.team;
        };
        auto it = std::find_if(plan.protects.begin(), plan.protects.end(), same);
        if (it == plan.protects.end()) {
          it = plan.protects.insert(plan.protects.end(), ProtectedCopy{d.level, d.phone, d.identity_bound, d.team, {}});
        }
        // A recipient named twice (with and without the suffix) gets one link.
        const bool known = std::any_of(it->recipients.begin(), it->recipients.end(),
                                       [&](const ProtectedRecipient& r) { return r.address == d.address; });
        if (!known) it->recipients.push_back(ProtectedRecipient{d.address, d.recipient, d.shown});
        break;
      }
      case Action::Kind::reject:
        plan.refused.push_back(RefusedRecipient{d.shown, d.code, d.text});
        break;
    }
  }
  return plan;
}

}  // namespace sinetti::ingest
