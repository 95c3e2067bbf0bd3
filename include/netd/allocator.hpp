#pragma once

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "netd/backend.hpp"
#include "netd/net/block_pool.hpp"

namespace netd {

// Hands out blocks of a pool that overlap nothing on the host, for both
// daemons. It keeps one BlockPool per block size asked for; every one of them
// is kept in step with the ranges our interfaces hold, which the caller reads
// from the kernel and passes to sync() at start and whenever it lists them.
// So a range adopted after a restart is never handed out twice.
//
// Overlap with the host (other daemons, routes, our own ranges of another
// size) is checked against the kernel at allocation time; the bitmaps only
// make the common case fast. A bit may stay set for a range removed behind
// the daemon's back: it is found again by the resync that allocate() does
// before it reports the pool full.
class Allocator {
public:
    explicit Allocator(net::Cidr pool);

    const net::Cidr& pool() const { return pool_; }

    // Makes every bitmap agree with `held`, the ranges our interfaces hold now.
    void sync(std::set<net::Cidr> held);

    // The next free /prefix_len block of the pool that nothing on the host
    // overlaps, now held. When the bitmap has none, it is synced with
    // `held_now()` (the kernel's view) and searched once more; a conflict
    // error when there is still none.
    // `unclaimed`, when given, also rules out blocks that another host holds
    // (see Coordinator); those stay marked used until the next resync.
    net::Cidr allocate(int prefix_len, HostNetwork& host, const std::function<std::set<net::Cidr>()>& held_now,
                       const std::function<bool(const net::Cidr&)>& unclaimed = {});

    // Marks `range` held or free. Both are idempotent.
    void hold(const net::Cidr& range);
    void release(const net::Cidr& range);

    // Starts every search at a point of the pool drawn from `seed` (0: its
    // beginning), so that hosts sharing the pool do not all race for its
    // first free block (Coordinator::spread).
    void spread(std::uint64_t seed);

    // Free /prefix_len blocks, by the bitmap (for metrics and tests).
    std::uint64_t free_blocks(int prefix_len);

private:
    net::BlockPool& pool_for(int prefix_len);

    net::Cidr pool_;
    std::map<int, net::BlockPool> pools_;
    std::set<net::Cidr> held_;
    std::uint64_t seed_ = 0;
};

} // namespace netd
