#include "netd/coordinator.hpp"

#include <algorithm>

#include "netd/error.hpp"

namespace netd {
namespace {

[[noreturn]] void gave_up(const std::string& what) {
    fail(ErrorCode::unavailable, "could not claim " + what + " after " + std::to_string(max_claim_attempts) +
                                     " attempts: other hosts kept claiming the blocks tried first");
}

[[noreturn]] void held_elsewhere(const net::Cidr& range, const Claim& holder) {
    auto what = holder.block == range ? " is" : " overlaps " + holder.block.to_string() + ",";
    fail(ErrorCode::conflict,
         range.to_string() + what + " claimed by " + holder.daemon + " on node " + holder.node);
}

[[noreturn]] void undecided(const net::Cidr& block) {
    // Nothing has changed but the block set aside for the claim: the
    // server runs the request again, and the re-run finds the outcome.
    fail(ErrorCode::busy, "the claim on " + block.to_string() + " is not decided yet");
}

// What an allocation does with the outcome of its claim: the block when it
// is ours and still free on the host, nullopt to try another.
std::optional<net::Cidr> settle(const ClaimOutcome& outcome, Allocator& allocator, HostNetwork& host,
                                Coordinator& coordinator) {
    switch (outcome.state) {
    case ClaimOutcome::State::pending:
        undecided(outcome.block);
    case ClaimOutcome::State::granted:
        allocator.hold(outcome.block);
        // Something on the host may have taken it while the claim was out.
        if (!host.overlaps(outcome.block)) return outcome.block;
        coordinator.release(outcome.block);
        allocator.release(outcome.block);
        return std::nullopt;
    case ClaimOutcome::State::lost:
        // The holder is known to the coordinator now, so the next search
        // passes the block over.
        allocator.release(outcome.block);
        return std::nullopt;
    case ClaimOutcome::State::failed:
        allocator.release(outcome.block);
        throw *outcome.error;
    }
    return std::nullopt;
}

// The same for an explicit range: whether it is ours now.
bool settle_given(const ClaimOutcome& outcome, const net::Cidr& range) {
    switch (outcome.state) {
    case ClaimOutcome::State::pending:
        undecided(outcome.block);
    case ClaimOutcome::State::granted:
        return true;
    case ClaimOutcome::State::lost:
        if (outcome.holder) held_elsewhere(range, *outcome.holder);
        return false; // the holder let go meanwhile: try again
    case ClaimOutcome::State::failed:
        throw *outcome.error;
    }
    return false;
}

} // namespace

ClaimView::ClaimView(const std::vector<Claim>& claims) {
    for (const auto& claim : claims) put(claim);
}

void ClaimView::put(const Claim& claim) {
    auto [it, added] = by_block_.insert_or_assign(claim.block, claim);
    if (added) blocks_.insert(claim.block);
}

std::optional<Claim> ClaimView::erase(const net::Cidr& block) {
    auto it = by_block_.find(block);
    if (it == by_block_.end()) return std::nullopt;
    auto claim = std::move(it->second);
    by_block_.erase(it);
    blocks_.erase(block);
    return claim;
}

const Claim* ClaimView::find_overlap(const net::Cidr& range) const {
    auto block = blocks_.find_overlap(range);
    return block ? &by_block_.at(*block) : nullptr;
}

const Claim* ClaimView::find(const net::Cidr& block) const {
    auto it = by_block_.find(block);
    return it == by_block_.end() ? nullptr : &it->second;
}

std::vector<Claim> ClaimView::claims() const {
    std::vector<Claim> out;
    out.reserve(by_block_.size());
    for (const auto& [_, claim] : by_block_) out.push_back(claim);
    return out;
}

Coordinator& local_coordinator() {
    static LocalCoordinator local;
    return local;
}

std::chrono::milliseconds claim_retry_delay(int attempt, double random) {
    if (attempt <= 0) return std::chrono::milliseconds::zero();
    auto cap = std::min<long long>(5LL << std::min(attempt - 1, 6), 200);
    return std::chrono::milliseconds(static_cast<long long>(std::clamp(random, 0.0, 1.0) * static_cast<double>(cap)));
}

net::Cidr allocate_claimed(Allocator& allocator, int prefix_len, HostNetwork& host,
                           const std::function<std::set<net::Cidr>()>& held_now, Coordinator& coordinator,
                           const std::string& name, ClaimTicket ticket) {
    int attempt = 0;
    if (auto earlier = coordinator.outcome(ticket)) {
        if (auto block = settle(*earlier, allocator, host, coordinator)) return *block;
        attempt = earlier->attempt + 1;
    }
    for (; attempt < max_claim_attempts; ++attempt) {
        auto block = allocator.allocate(prefix_len, host, held_now, [&](const net::Cidr& candidate) {
            return !coordinator.find_overlap(candidate) && !coordinator.recently_dropped(candidate);
        });
        if (auto settled = settle(coordinator.claim(ticket, block, name, attempt), allocator, host, coordinator)) {
            return *settled;
        }
    }
    gave_up("a block");
}

void claim_given(Coordinator& coordinator, const net::Cidr& pool, const net::Cidr& range, const std::string& name,
                 ClaimTicket ticket) {
    if (!pool.overlaps(range)) return;
    int attempt = 0;
    if (auto earlier = coordinator.outcome(ticket)) {
        if (settle_given(*earlier, range)) return;
        attempt = earlier->attempt + 1;
    }
    // The claims as last heard may lag: only the claim itself says for sure
    // whether the range is held elsewhere.
    for (; attempt < max_claim_attempts; ++attempt) {
        if (auto dropped = coordinator.recently_dropped(range)) {
            fail(ErrorCode::conflict, range.to_string() + " overlaps " + dropped->block.to_string() + ", which " +
                                          dropped->daemon + " on node " + dropped->node +
                                          " held until moments ago: it is kept for that node for one lease TTL, "
                                          "in case it only lost its lease");
        }
        if (settle_given(coordinator.claim(ticket, range, name, attempt), range)) return;
    }
    gave_up(range.to_string());
}

} // namespace netd
