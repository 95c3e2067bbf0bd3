#include <gtest/gtest.h>

#include <set>

#include "netd/error.hpp"
#include "netd/net/block_pool.hpp"

namespace netd::net {
namespace {

// A sequence of operations on a pool and what each should give, in the
// manner of Kubernetes' cidrset tests.
struct Step {
    enum Kind { allocate, occupy, release } kind;
    const char* range;    // for occupy/release
    const char* expected; // for allocate: the block, or "" for none
    std::uint64_t free_after;
};

struct Sequence {
    const char* label;
    const char* pool;
    int block_prefix;
    std::vector<Step> steps;

    friend void PrintTo(const Sequence& s, std::ostream* out) { *out << s.label; }
};

class BlockPoolSequence : public ::testing::TestWithParam<Sequence> {};

TEST_P(BlockPoolSequence, Runs) {
    const auto& sequence = GetParam();
    BlockPool pool(Cidr::parse(sequence.pool), sequence.block_prefix);
    int n = 0;
    for (const auto& step : sequence.steps) {
        ++n;
        if (step.kind == Step::allocate) {
            auto block = pool.allocate();
            EXPECT_EQ(block ? block->to_string() : "", step.expected) << "step " << n;
        } else if (step.kind == Step::occupy) {
            pool.occupy(Cidr::parse(step.range));
        } else {
            pool.release(Cidr::parse(step.range));
        }
        EXPECT_EQ(pool.free_count(), step.free_after) << "step " << n;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BlockPoolSequence,
    ::testing::Values(
        Sequence{"first_blocks", "10.0.0.0/8", 24,
                 {{Step::allocate, "", "10.0.0.0/24", 65535}, {Step::allocate, "", "10.0.1.0/24", 65534}}},
        Sequence{"ipv6_64s_of_a_48", "fd00:1::/48", 64,
                 {{Step::allocate, "", "fd00:1::/64", 65535},
                  {Step::occupy, "fd00:1:0:2::/63", "", 65533},
                  {Step::allocate, "", "fd00:1:0:1::/64", 65532},
                  // Another family's range holds none of the pool.
                  {Step::occupy, "0.0.0.0/0", "", 65532},
                  {Step::occupy, "fd00:1:0:ffff::/64", "", 65531},
                  {Step::release, "fd00:1::/48", "", 65536}}},
        Sequence{"round_robin_does_not_reuse_at_once", "10.0.0.0/22", 24,
                 {{Step::allocate, "", "10.0.0.0/24", 3},
                  {Step::allocate, "", "10.0.1.0/24", 2},
                  {Step::release, "10.0.0.0/24", "", 3},
                  {Step::allocate, "", "10.0.2.0/24", 2},
                  {Step::allocate, "", "10.0.3.0/24", 1},
                  {Step::allocate, "", "10.0.0.0/24", 0},
                  {Step::allocate, "", "", 0}}},
        Sequence{"occupy_is_idempotent", "10.0.0.0/22", 24,
                 {{Step::occupy, "10.0.1.0/24", "", 3},
                  {Step::occupy, "10.0.1.0/24", "", 3},
                  {Step::allocate, "", "10.0.0.0/24", 2},
                  {Step::allocate, "", "10.0.2.0/24", 1}}},
        Sequence{"release_is_idempotent", "10.0.0.0/22", 24,
                 {{Step::release, "10.0.1.0/24", "", 4},
                  {Step::occupy, "10.0.1.0/24", "", 3},
                  {Step::release, "10.0.1.0/24", "", 4},
                  {Step::release, "10.0.1.0/24", "", 4}}},
        Sequence{"larger_and_smaller_ranges", "10.0.0.0/8", 24,
                 {{Step::occupy, "10.1.0.0/16", "", 65536 - 256},
                  {Step::occupy, "10.2.3.128/25", "", 65536 - 257},
                  {Step::release, "10.1.0.0/17", "", 65536 - 129}}},
        Sequence{"outside_is_ignored_and_overlap_clipped", "10.0.0.0/16", 24,
                 {{Step::occupy, "192.168.0.0/24", "", 256},
                  {Step::release, "192.168.0.0/24", "", 256},
                  {Step::occupy, "10.0.0.0/8", "", 0},
                  {Step::allocate, "", "", 0},
                  {Step::release, "0.0.0.0/0", "", 256}}},
        Sequence{"tiny_pool_of_hosts", "192.168.0.0/30", 32,
                 {{Step::allocate, "", "192.168.0.0/32", 3},
                  {Step::allocate, "", "192.168.0.1/32", 2},
                  {Step::allocate, "", "192.168.0.2/32", 1},
                  {Step::allocate, "", "192.168.0.3/32", 0},
                  {Step::allocate, "", "", 0},
                  {Step::release, "192.168.0.1/32", "", 1},
                  {Step::allocate, "", "192.168.0.1/32", 0}}},
        Sequence{"pool_of_one_block", "10.9.0.0/24", 24,
                 {{Step::allocate, "", "10.9.0.0/24", 0}, {Step::allocate, "", "", 0}}}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(BlockPool, RejectsImpossibleShapes) {
    struct Case {
        const char* pool;
        int block;
    };
    for (const auto& c : std::vector<Case>{{"10.0.0.0/16", 8}, {"10.0.0.0/8", 33}, {"0.0.0.0/0", 32}, {"fd00::/48", 129}, {"::/0", 64}}) {
        try {
            BlockPool(Cidr::parse(c.pool), c.block);
            ADD_FAILURE() << c.pool << " /" << c.block << " accepted";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::invalid);
        }
    }
}

TEST(BlockPool, ExhaustReleaseAllocateAgainGivesTheSameSet) {
    BlockPool pool(Cidr::parse("10.0.0.0/8"), 24);
    std::set<Cidr> first;
    while (auto block = pool.allocate()) first.insert(*block);
    EXPECT_EQ(first.size(), 65536u);
    EXPECT_EQ(pool.free_count(), 0u);
    EXPECT_FALSE(pool.allocate());
    for (const auto& block : first) pool.release(block);
    EXPECT_EQ(pool.free_count(), 65536u);
    std::set<Cidr> second;
    while (auto block = pool.allocate()) second.insert(*block);
    EXPECT_EQ(second, first);
}

TEST(BlockPool, CursorWrapsAround) {
    BlockPool pool(Cidr::parse("10.0.0.0/8"), 24);
    pool.occupy(Cidr::parse("10.0.0.0/8"));
    pool.release(Cidr::parse("10.255.255.0/24"));
    pool.release(Cidr::parse("10.0.5.0/24"));
    EXPECT_EQ(pool.allocate()->to_string(), "10.0.5.0/24");
    EXPECT_EQ(pool.allocate()->to_string(), "10.255.255.0/24");
    EXPECT_FALSE(pool.allocate());
}

TEST(BlockPool, UsablePredicateSkipsWithoutMarking) {
    BlockPool pool(Cidr::parse("10.0.0.0/8"), 24);
    auto held_by_host = Cidr::parse("10.0.0.0/16");
    auto block = pool.allocate([&](const Cidr& candidate) { return !held_by_host.overlaps(candidate); });
    EXPECT_EQ(block->to_string(), "10.1.0.0/24");
    EXPECT_EQ(pool.free_count(), 65535u) << "skipped blocks must stay free";
    EXPECT_FALSE(pool.is_used(Cidr::parse("10.0.0.0/24")));
    EXPECT_TRUE(pool.is_used(Cidr::parse("10.1.0.0/24")));
    EXPECT_FALSE(pool.allocate([](const Cidr&) { return false; }));
}

} // namespace
} // namespace netd::net
