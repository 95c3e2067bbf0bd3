#include "netd/allocator.hpp"

#include <algorithm>
#include <iterator>

#include "netd/error.hpp"

namespace netd {

Allocator::Allocator(net::Cidr pool) : pool_(pool) {}

net::BlockPool& Allocator::pool_for(int prefix_len) {
    auto it = pools_.find(prefix_len);
    if (it != pools_.end()) return it->second;
    net::BlockPool fresh(pool_, prefix_len);
    fresh.start_at(seed_);
    for (const auto& range : held_) fresh.occupy(range);
    return pools_.emplace(prefix_len, std::move(fresh)).first->second;
}

void Allocator::sync(std::set<net::Cidr> held) {
    std::vector<net::Cidr> gone, added;
    std::set_difference(held_.begin(), held_.end(), held.begin(), held.end(), std::back_inserter(gone));
    std::set_difference(held.begin(), held.end(), held_.begin(), held_.end(), std::back_inserter(added));
    for (const auto& range : gone) release(range);
    for (const auto& range : added) hold(range);
    // A block shared with a range just released lost its bit; mark it again.
    if (!gone.empty()) {
        for (const auto& range : held_) {
            for (auto& [_, pool] : pools_) pool.occupy(range);
        }
    }
}

void Allocator::hold(const net::Cidr& range) {
    held_.insert(range);
    for (auto& [_, pool] : pools_) pool.occupy(range);
}

void Allocator::release(const net::Cidr& range) {
    held_.erase(range);
    // A block may hold a smaller range besides this one; its bit stays clear
    // until the next sync re-marks it, and until then the occupant check
    // keeps it from being handed out.
    for (auto& [_, pool] : pools_) pool.release(range);
}

net::Cidr Allocator::allocate(int prefix_len, HostNetwork& host, const std::function<std::set<net::Cidr>()>& held_now,
                              const std::function<bool(const net::Cidr&)>& unclaimed) {
    auto& pool = pool_for(prefix_len);
    // Free on this host and claimed by no other.
    auto usable = [&](const net::Cidr& candidate) {
        if (host.overlaps(candidate)) return false;
        if (!unclaimed || unclaimed(candidate)) return true;
        pool.occupy(candidate);
        return false;
    };
    auto block = pool.allocate(usable);
    if (!block) {
        sync(held_now());
        block = pool.allocate(usable);
    }
    if (!block) {
        fail(ErrorCode::conflict, "the pool " + pool_.to_string() + " has no free /" + std::to_string(prefix_len) +
                                      " left that nothing on the host overlaps");
    }
    hold(*block);
    return *block;
}

void Allocator::spread(std::uint64_t seed) {
    seed_ = seed;
    for (auto& [_, pool] : pools_) pool.start_at(seed);
}

std::uint64_t Allocator::free_blocks(int prefix_len) { return pool_for(prefix_len).free_count(); }

} // namespace netd
