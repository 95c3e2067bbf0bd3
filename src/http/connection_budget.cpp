#include "netd/http/connection_budget.hpp"

#include <string>

#include "netd/error.hpp"

namespace netd::http {

ConnectionBudget::ConnectionBudget(std::size_t cap, std::size_t reserved) : cap_(cap), reserved_(reserved) {
    if (cap == 0) fail(ErrorCode::invalid, "--max-connections must be at least 1");
    if (reserved >= cap) {
        fail(ErrorCode::invalid, "--reserved-connections (" + std::to_string(reserved) +
                                     ") must be less than --max-connections (" + std::to_string(cap) +
                                     "), or only the Unix socket and admins could connect");
    }
}

ConnectionBudget::Admission ConnectionBudget::admit(Connection& connection, bool privileged) {
    auto admission = Admission::admitted;
    while (open() >= cap_ || (!privileged && open_[0] >= cap_ - reserved_)) {
        auto* evicted = victim(privileged);
        if (!evicted) return Admission::refused;
        forget(*evicted);
        evicted->evict();
        admission = Admission::evicted_one;
    }
    connection.admitted_ = true;
    connection.privileged_ = privileged;
    ++open_[privileged];
    idle(connection);
    return admission;
}

void ConnectionBudget::idle(Connection& connection) {
    if (!connection.admitted_) return;
    auto& list = idle_[connection.privileged_];
    if (connection.evictable_) list.erase(connection.place_);
    connection.place_ = list.insert(list.end(), &connection);
    connection.evictable_ = true;
}

void ConnectionBudget::busy(Connection& connection) {
    if (!connection.admitted_ || !connection.evictable_) return;
    idle_[connection.privileged_].erase(connection.place_);
    connection.evictable_ = false;
}

void ConnectionBudget::leave(Connection& connection) {
    if (connection.admitted_) forget(connection);
}

// Whose going makes room for a new connection: when a caller who is not
// privileged is over its share, only another such one's; otherwise anyone's,
// those who are not privileged first, since the reserve is for the others.
ConnectionBudget::Connection* ConnectionBudget::victim(bool privileged) const {
    if (!idle_[0].empty()) return idle_[0].front();
    bool over_share = !privileged && open_[0] >= cap_ - reserved_;
    if (over_share || idle_[1].empty()) return nullptr;
    return idle_[1].front();
}

void ConnectionBudget::forget(Connection& connection) {
    busy(connection);
    --open_[connection.privileged_];
    connection.admitted_ = false;
}

} // namespace netd::http
