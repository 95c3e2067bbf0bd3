#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "netd/net/name_picker.hpp"

namespace netd::net {
namespace {

struct PickCase {
    std::string name;
    std::set<std::string> taken;
    std::string wanted;
    std::string picked;
};

class NamePickerTest : public ::testing::TestWithParam<PickCase> {};

TEST_P(NamePickerTest, PicksAFreshDaemonsName) {
    const auto& c = GetParam();
    NamePicker picker("lo:");
    EXPECT_EQ(picker.pick([&](const std::string& name) { return c.taken.contains(name); }, c.wanted), c.picked);
}

INSTANTIATE_TEST_SUITE_P(Table, NamePickerTest,
                         ::testing::Values(PickCase{"first", {}, "", "lo:0"},
                                           PickCase{"wanted_free", {"lo:0"}, "lo:7", "lo:7"},
                                           PickCase{"wanted_taken", {"lo:0", "lo:7"}, "lo:7", "lo:1"},
                                           PickCase{"wanted_other_prefix", {}, "eth0", "lo:0"},
                                           PickCase{"wanted_not_a_number", {}, "lo:x", "lo:0"},
                                           PickCase{"wanted_too_long", {}, "lo:1234567", "lo:0"},
                                           PickCase{"skips_foreign", {"lo:0", "lo:1", "lo:3"}, "", "lo:2"}),
                         [](const auto& info) { return info.param.name; });

TEST(NamePicker, ReusesWhatItFreed) {
    NamePicker picker("lo:");
    std::set<std::string> taken;
    auto is_taken = [&](const std::string& name) { return taken.contains(name); };
    for (int i = 0; i < 3; ++i) taken.insert(picker.pick(is_taken));
    taken.erase("lo:1");
    picker.freed("lo:1");
    picker.freed("tun0"); // another prefix: ignored
    EXPECT_EQ(picker.pick(is_taken), "lo:1");
    taken.insert("lo:1");
    EXPECT_EQ(picker.pick(is_taken), "lo:3");
}

TEST(NamePicker, TheHintSkipsWhatItHandedOut) {
    NamePicker picker("tun");
    std::set<std::string> taken;
    int lookups = 0;
    auto is_taken = [&](const std::string& name) {
        ++lookups;
        return taken.contains(name);
    };
    for (int i = 0; i < 1000; ++i) taken.insert(picker.pick(is_taken));
    EXPECT_EQ(taken.size(), 1000u);
    EXPECT_EQ(lookups, 1000) << "each pick should look at one name, not rescan from tun0";
}

} // namespace
} // namespace netd::net
