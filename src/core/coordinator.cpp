#include "netd/coordinator.hpp"

#include "netd/error.hpp"

namespace netd {
namespace {

// Two daemons racing for the pool finish in a few rounds; this many means
// the pool changes faster than a claim can be made, which is worth an error.
constexpr int max_claim_attempts = 20;

[[noreturn]] void gave_up(const std::string& what) {
    fail(ErrorCode::unavailable, "could not claim " + what + " after " + std::to_string(max_claim_attempts) +
                                     " attempts: the pool's claims keep changing");
}

[[noreturn]] void held_elsewhere(const net::Cidr& range, const Claim& holder) {
    auto what = holder.block == range ? " is" : " overlaps " + holder.block.to_string() + ",";
    fail(ErrorCode::conflict,
         range.to_string() + what + " claimed by " + holder.daemon + " on node " + holder.node);
}

} // namespace

ClaimView::ClaimView(std::vector<Claim> claims, std::int64_t revision)
    : claims_(std::move(claims)), revision_(revision) {
    for (std::size_t i = 0; i < claims_.size(); ++i) {
        by_block_[claims_[i].block] = i;
        blocks_.insert(claims_[i].block);
    }
}

const Claim* ClaimView::find_overlap(const net::Cidr& range) const {
    auto block = blocks_.find_overlap(range);
    return block ? &claims_[by_block_.at(*block)] : nullptr;
}

Coordinator& local_coordinator() {
    static LocalCoordinator local;
    return local;
}

net::Cidr allocate_claimed(Allocator& allocator, int prefix_len, HostNetwork& host,
                           const std::function<std::set<net::Cidr>()>& held_now, Coordinator& coordinator,
                           const std::string& name) {
    for (int attempt = 0; attempt < max_claim_attempts; ++attempt) {
        auto view = coordinator.read();
        auto block = allocator.allocate(prefix_len, host, held_now, [&](const net::Cidr& candidate) {
            return view.find_overlap(candidate) == nullptr;
        });
        if (coordinator.claim(view, block, name)) return block;
        allocator.release(block);
    }
    gave_up("a block");
}

void claim_given(Coordinator& coordinator, const net::Cidr& pool, const net::Cidr& range, const std::string& name) {
    if (!pool.overlaps(range)) return;
    for (int attempt = 0; attempt < max_claim_attempts; ++attempt) {
        auto view = coordinator.read();
        if (const auto* holder = view.find_overlap(range)) held_elsewhere(range, *holder);
        if (coordinator.claim(view, range, name)) return;
    }
    gave_up(range.to_string());
}

} // namespace netd
