#include <random>

#include <gtest/gtest.h>

#include "netd/claim_keys.hpp"

namespace netd {
namespace {

using net::Cidr;

const ClaimKeys keys(Cidr::parse("10.0.0.0/8"));
const std::string prefix = "/netd/v2/10.0.0.0/8/blocks/";

bool in(const KeyRange& range, const std::string& key) { return range.key <= key && key < range.range_end; }

TEST(ClaimKeysTest, KeysAreFixedWidthHexThenTheLength) {
    struct Case {
        const char* block;
        const char* key;
    };
    for (const auto& [block, key] : {Case{"10.0.1.0/24", "0a000100/24"}, Case{"10.0.0.0/8", "0a000000/08"},
                                     Case{"0.0.0.0/0", "00000000/00"}, Case{"10.255.255.252/30", "0afffffc/30"},
                                     Case{"9.255.0.0/16", "09ff0000/16"}}) {
        EXPECT_EQ(keys.key_of(Cidr::parse(block)), prefix + key) << block;
        EXPECT_EQ(keys.block_of(prefix + key), Cidr::parse(block)) << key;
    }
}

TEST(ClaimKeysTest, AnythingElseIsNoBlock) {
    for (const auto* rest : {"10.0.1.0/24", "0a000100/2", "0a000100/240", "0A000100/24", "0a000101/24", "0a000100/33",
                             "0a000100-24", "0a00010g/24", ""}) {
        EXPECT_EQ(keys.block_of(prefix + rest), std::nullopt) << rest;
    }
    EXPECT_EQ(keys.block_of("/netd/v2/10.0.0.0/16/blocks/0a000100/24"), std::nullopt) << "another pool's key";
    EXPECT_EQ(keys.block_of(keys.v1_prefix() + "10.0.1.0/24"), std::nullopt) << "a v1 key";
}

TEST(ClaimKeysTest, TheBlocksInsideABlockAreOneKeyRange) {
    auto range = keys.starting_inside(Cidr::parse("10.0.0.0/16"));
    for (const auto* inside : {"10.0.0.0/16", "10.0.0.0/24", "10.0.255.0/24", "10.0.255.252/30", "10.0.0.0/8"}) {
        EXPECT_TRUE(in(range, keys.key_of(Cidr::parse(inside)))) << inside;
    }
    for (const auto* outside : {"10.1.0.0/16", "10.1.0.0/24", "9.255.255.0/24", "11.0.0.0/8"}) {
        EXPECT_FALSE(in(range, keys.key_of(Cidr::parse(outside)))) << outside;
    }
    EXPECT_TRUE(in(keys.all(), keys.key_of(Cidr::parse("10.0.0.0/16"))));
}

TEST(ClaimKeysTest, TheWiderBlocksAreOneKeyPerShorterPrefix) {
    auto wider = keys.containing(Cidr::parse("10.0.1.0/24"));
    EXPECT_EQ(wider.size(), 24u);
    EXPECT_EQ(wider.front(), keys.key_of(Cidr::parse("0.0.0.0/0")));
    EXPECT_EQ(wider.back(), keys.key_of(Cidr::parse("10.0.0.0/23")));
    // 0.0.0.0/0 to /4 and 8.0.0.0/5 and /6; 10.0.0.0/7 to /15 start where
    // 10.0.0.0/16 does: they are in its range already.
    EXPECT_EQ(keys.containing(Cidr::parse("10.0.0.0/16")).size(), 7u);
}

// The property the claims rely on: a block's compared keys are exactly
// those of the blocks that overlap it.
TEST(ClaimKeysTest, TheComparedKeysAreExactlyThoseOfOverlappingBlocks) {
    std::mt19937 random(21);
    auto draw = [&] {
        int length = static_cast<int>(random() % 25) + 8;
        // Addresses near each other, so that overlaps are common.
        auto address = 0x0a000000u | (random() & 0x0003ffffu);
        return Cidr::containing(net::IpAddress::v4(address), length);
    };
    for (int i = 0; i < 20000; ++i) {
        auto a = draw(), b = draw();
        auto wider = keys.containing(a);
        bool compared = in(keys.starting_inside(a), keys.key_of(b)) ||
                        std::find(wider.begin(), wider.end(), keys.key_of(b)) != wider.end();
        ASSERT_EQ(compared, a.overlaps(b)) << a.to_string() << " and " << b.to_string();
    }
}

} // namespace
} // namespace netd
