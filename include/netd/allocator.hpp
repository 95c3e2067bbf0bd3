#pragma once

#include <map>
#include <set>
#include <vector>

#include "netd/backend.hpp"
#include "netd/net/block_pool.hpp"

namespace netd {

// Hands out blocks of a pool that overlap nothing on the host, for both
// daemons. It keeps one BlockPool per block size asked for; every one of them
// is kept in step with the ranges our interfaces hold, which the caller reads
// from the kernel and passes to sync() before each allocation. So a range
// removed behind the daemon's back returns to the pool, and one adopted after
// a restart is never handed out twice.
//
// Overlap with the host (other daemons, routes, our own ranges of another
// size) is checked against the occupants at allocation time; the bitmaps
// only make the common case fast.
class Allocator {
public:
    explicit Allocator(net::Cidr pool);

    const net::Cidr& pool() const { return pool_; }

    // Makes every bitmap agree with `held`, the ranges our interfaces hold now.
    void sync(std::set<net::Cidr> held);

    // The next free /prefix_len block of the pool that no occupant overlaps,
    // now held. A conflict error when there is none.
    net::Cidr allocate(int prefix_len, std::vector<Occupant> occupants);

    // Marks `range` held or free. Both are idempotent.
    void hold(const net::Cidr& range);
    void release(const net::Cidr& range);

    // Free /prefix_len blocks, by the bitmap (for metrics and tests).
    std::uint64_t free_blocks(int prefix_len);

private:
    net::BlockPool& pool_for(int prefix_len);

    net::Cidr pool_;
    std::map<int, net::BlockPool> pools_;
    std::set<net::Cidr> held_;
};

} // namespace netd
