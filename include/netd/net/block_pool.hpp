#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "netd/net/ip.hpp"

namespace netd::net {

// Hands out fixed-size blocks of a pool, e.g. the /24s of 10.0.0.0/8 or the
// /64s of an IPv6 /48, from a bitmap with a round-robin cursor (the model is
// Kubernetes' cidrset): the next search starts after the last block handed
// out, so a block just released is not handed out again at once.
class BlockPool {
public:
    // Throws invalid unless pool.prefix_len() <= block_prefix_len <= the
    // address width (32 or 128) and the pool holds at most 2^24 blocks.
    BlockPool(Cidr pool, int block_prefix_len);

    const Cidr& pool() const { return pool_; }
    int block_prefix_len() const { return block_prefix_len_; }
    std::uint64_t block_count() const { return block_count_; }
    std::uint64_t free_count() const { return block_count_ - used_count_; }

    // The next free block for which `usable` is true, marked used; nullopt
    // when there is none. `usable` lets the caller skip blocks that something
    // outside the pool's knowledge (a host route, say) already holds.
    std::optional<Cidr> allocate(const std::function<bool(const Cidr&)>& usable);
    std::optional<Cidr> allocate();

    // Moves the cursor to the block at `index` (modulo the count): where the
    // next search starts.
    void start_at(std::uint64_t index) { cursor_ = index % block_count_; }

    // Whether `range` lies inside the pool.
    bool contains(const Cidr& range) const { return pool_.contains(range); }
    // Whether every block that `range` touches is used.
    bool is_used(const Cidr& range) const;

    // Mark or clear every block that `range` touches. Both are idempotent;
    // a range outside the pool is ignored, a part of one is clipped to it.
    void occupy(const Cidr& range);
    void release(const Cidr& range);

private:
    struct BlockSpan {
        std::uint64_t first;
        std::uint64_t count;
    };
    std::optional<BlockSpan> span_of(const Cidr& range) const;
    Cidr block_at(std::uint64_t index) const;
    // The bits of an address below a block's prefix.
    int host_bits() const { return pool_.network().bit_width() - block_prefix_len_; }
    bool test(std::uint64_t index) const;
    void set(std::uint64_t index, bool used);

    Cidr pool_;
    int block_prefix_len_;
    std::uint64_t block_count_;
    std::uint64_t used_count_ = 0;
    std::uint64_t cursor_ = 0;
    std::vector<std::uint64_t> words_;
};

} // namespace netd::net
