#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "netd/net/range_set.hpp"

namespace netd::net {
namespace {

struct OverlapCase {
    std::string name;
    std::vector<std::string> members;
    std::string query;
    std::optional<std::string> overlap;
};

class RangeSetTest : public ::testing::TestWithParam<OverlapCase> {};

TEST_P(RangeSetTest, FindsAnOverlappingMember) {
    const auto& c = GetParam();
    RangeSet set;
    for (const auto& member : c.members) set.insert(Cidr::parse(member));
    auto found = set.find_overlap(Cidr::parse(c.query));
    ASSERT_EQ(found.has_value(), c.overlap.has_value()) << (found ? found->to_string() : "nothing");
    if (found) {
        EXPECT_EQ(found->to_string(), *c.overlap);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RangeSetTest,
    ::testing::Values(
        OverlapCase{"empty", {}, "10.0.0.0/24", std::nullopt},
        OverlapCase{"same", {"10.0.0.0/24"}, "10.0.0.0/24", "10.0.0.0/24"},
        OverlapCase{"member_inside", {"10.0.0.128/25"}, "10.0.0.0/24", "10.0.0.128/25"},
        OverlapCase{"host_route_inside", {"10.0.5.9/32"}, "10.0.5.0/24", "10.0.5.9/32"},
        OverlapCase{"member_contains", {"10.0.0.0/8"}, "10.0.3.0/24", "10.0.0.0/8"},
        OverlapCase{"same_start_wider", {"10.0.0.0/16"}, "10.0.0.0/24", "10.0.0.0/16"},
        OverlapCase{"default_route", {"0.0.0.0/0"}, "10.0.0.0/24", "0.0.0.0/0"},
        OverlapCase{"neighbours_only", {"10.0.0.0/24", "10.0.2.0/24"}, "10.0.1.0/24", std::nullopt},
        OverlapCase{"just_after", {"10.0.1.0/32"}, "10.0.0.0/24", std::nullopt},
        OverlapCase{"just_before", {"10.0.0.255/32"}, "10.0.1.0/24", std::nullopt},
        OverlapCase{"top_of_space", {"255.255.255.255/32"}, "255.255.255.0/24", "255.255.255.255/32"},
        OverlapCase{"wide_query", {"192.168.1.0/24"}, "192.0.0.0/8", "192.168.1.0/24"},
        OverlapCase{"v6_member_inside", {"fd00:1::/64"}, "fd00::/16", "fd00:1::/64"},
        OverlapCase{"v6_member_contains", {"fd00::/8"}, "fd12:3456::/64", "fd00::/8"},
        OverlapCase{"v6_neighbours_only", {"fd00::/64", "fd00:0:0:2::/64"}, "fd00:0:0:1::/64", std::nullopt},
        OverlapCase{"v6_top_of_space", {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}, "ffff:ffff:ffff:ffff::/64",
                    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
        // The families share no addresses, whatever their bits.
        OverlapCase{"v4_default_is_not_v6", {"0.0.0.0/0"}, "fd00::/64", std::nullopt},
        OverlapCase{"v6_default_is_not_v4", {"::/0"}, "10.0.0.0/8", std::nullopt},
        OverlapCase{"same_bits_other_family", {"::a00:0/104"}, "10.0.0.0/8", std::nullopt}),
    [](const auto& info) { return info.param.name; });

TEST(RangeSet, EraseRemovesOneCopy) {
    RangeSet set;
    auto range = Cidr::parse("10.0.0.0/24");
    set.insert(range); // an address's network
    set.insert(range); // and its prefix route
    set.erase(range);
    EXPECT_EQ(set.find_overlap(range), range) << "the second copy went with the first";
    set.erase(range);
    EXPECT_EQ(set.find_overlap(range), std::nullopt);
    set.erase(range); // absent: ignored
    EXPECT_EQ(set.size(), 0u);
}

} // namespace
} // namespace netd::net
