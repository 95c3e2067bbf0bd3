#include "netd/net/block_pool.hpp"

#include <bit>

#include "netd/error.hpp"

namespace netd::net {
namespace {

constexpr int max_block_bits = 24; // at most 2^24 blocks: a 2 MiB bitmap
constexpr std::uint64_t all_used = ~std::uint64_t{0};

} // namespace

BlockPool::BlockPool(Cidr pool, int block_prefix_len) : pool_(pool), block_prefix_len_(block_prefix_len) {
    if (block_prefix_len < pool.prefix_len() || block_prefix_len > pool.network().bit_width()) {
        fail(ErrorCode::invalid, "a /" + std::to_string(block_prefix_len) + " block does not fit in the pool " +
                                     pool.to_string());
    }
    if (block_prefix_len - pool.prefix_len() > max_block_bits) {
        fail(ErrorCode::invalid, "the pool " + pool.to_string() + " holds more than 2^24 /" +
                                     std::to_string(block_prefix_len) + " blocks");
    }
    block_count_ = std::uint64_t{1} << (block_prefix_len - pool.prefix_len());
    words_.assign((block_count_ + 63) / 64, 0);
    // Bits past the last block are marked used so that word scans skip them.
    if (auto tail = block_count_ % 64) words_.back() = all_used << tail;
}

Cidr BlockPool::block_at(std::uint64_t index) const {
    return Cidr(IpAddress(pool_.family(), pool_.network().value() + (Uint128{index} << host_bits())), block_prefix_len_);
}

bool BlockPool::test(std::uint64_t index) const { return words_[index / 64] >> (index % 64) & 1; }

void BlockPool::set(std::uint64_t index, bool used) {
    auto& word = words_[index / 64];
    auto bit = std::uint64_t{1} << (index % 64);
    if (bool(word & bit) == used) return;
    word ^= bit;
    used ? ++used_count_ : --used_count_;
}

std::optional<BlockPool::BlockSpan> BlockPool::span_of(const Cidr& range) const {
    if (!range.overlaps(pool_)) return std::nullopt;
    auto clipped = pool_.contains(range) ? range : pool_;
    auto first = static_cast<std::uint64_t>((clipped.network().value() - pool_.network().value()) >> host_bits());
    auto count = clipped.prefix_len() >= block_prefix_len_
                     ? std::uint64_t{1}
                     : std::uint64_t{1} << (block_prefix_len_ - clipped.prefix_len());
    return BlockSpan{first, count};
}

std::optional<Cidr> BlockPool::allocate(const std::function<bool(const Cidr&)>& usable) {
    // Visit free blocks from the cursor on, wrapping around once; whole used
    // words are skipped 64 blocks at a time.
    for (std::uint64_t visited = 0; visited < block_count_;) {
        auto index = (cursor_ + visited) % block_count_;
        auto free_bits = ~words_[index / 64] >> (index % 64);
        if (free_bits == 0) {
            visited += 64 - index % 64;
            continue;
        }
        auto skip = static_cast<std::uint64_t>(std::countr_zero(free_bits));
        visited += skip;
        if (visited >= block_count_) break;
        index += skip;
        auto block = block_at(index);
        if (usable(block)) {
            set(index, true);
            cursor_ = (index + 1) % block_count_;
            return block;
        }
        ++visited;
    }
    return std::nullopt;
}

std::optional<Cidr> BlockPool::allocate() {
    return allocate([](const Cidr&) { return true; });
}

bool BlockPool::is_used(const Cidr& range) const {
    if (!pool_.contains(range)) return false;
    auto span = span_of(range);
    for (auto i = span->first; i < span->first + span->count; ++i) {
        if (!test(i)) return false;
    }
    return true;
}

void BlockPool::occupy(const Cidr& range) {
    if (auto span = span_of(range)) {
        for (auto i = span->first; i < span->first + span->count; ++i) set(i, true);
    }
}

void BlockPool::release(const Cidr& range) {
    if (auto span = span_of(range)) {
        for (auto i = span->first; i < span->first + span->count; ++i) set(i, false);
    }
}

} // namespace netd::net
