#include <gtest/gtest.h>

#include "error_code.hpp"
#include "fake_kernel.hpp"
#include "netd/error.hpp"
#include "netd/tun_service.hpp"

namespace netd {
namespace {

using net::Cidr;
using testing::code_of;
using testing::FakeKernel;
using testing::FakeTunBackend;

class TunServiceTest : public ::testing::Test {
protected:
    FakeKernel kernel;
    FakeTunBackend backend{kernel};

    testing::FakeIntentStore store;
    std::string problem;
    Intents intents{store, problem};

    TunService service(const char* pool = "10.0.0.0/8", const char* pool6 = "fd00:1::/48") {
        return TunService(backend, kernel, intents, Cidr::parse(pool), Cidr::parse(pool6));
    }
};


TEST_F(TunServiceTest, FirstTunGetsTheSpecsAddress) {
    auto tuns = service();
    auto tun = tuns.create({});
    EXPECT_EQ(tun.name, "tun0");
    EXPECT_EQ(tun.address.to_string(), "10.0.0.1/24");
    // Check-then-create ran under the host-wide lock, and released it.
    EXPECT_EQ(kernel.locks, 1);
    EXPECT_EQ(kernel.unlocks, 1);
}

TEST_F(TunServiceTest, SequentialBlocksAndNames) {
    auto tuns = service();
    struct Step {
        std::optional<std::string> name;
        const char* expected_name;
        const char* expected_address;
    };
    for (const auto& step : std::vector<Step>{{std::nullopt, "tun0", "10.0.0.1/24"},
                                              {"vpn0", "vpn0", "10.0.1.1/24"},
                                              {std::nullopt, "tun1", "10.0.2.1/24"}}) {
        auto tun = tuns.create({.name = step.name});
        EXPECT_EQ(tun.name, step.expected_name);
        EXPECT_EQ(tun.address.to_string(), step.expected_address);
    }
    EXPECT_EQ(tuns.list().size(), 3u);
}

TEST_F(TunServiceTest, SkipsBlocksTheHostHolds) {
    kernel.foreign = {{Cidr::parse("10.0.0.0/23"), "the route 10.0.0.0/23 on eth0"},
                      {Cidr::parse("10.0.2.128/25"), "the address 10.0.2.129/25 on eth1"}};
    EXPECT_EQ(service().create({}).address.to_string(), "10.0.3.1/24");
}

TEST_F(TunServiceTest, HostRouteCoveringThePoolExhaustsIt) {
    kernel.foreign = {{Cidr::parse("10.0.0.0/8"), "the route 10.0.0.0/8 on wg0"}};
    auto tuns = service();
    EXPECT_EQ(code_of([&] { tuns.create({}); }), ErrorCode::conflict);
}

TEST_F(TunServiceTest, ExhaustionIsAConflictAndDeleteFreesABlock) {
    auto tuns = service("10.0.0.0/23");
    tuns.create({});
    tuns.create({});
    EXPECT_EQ(code_of([&] { tuns.create({}); }), ErrorCode::conflict);
    tuns.remove("tun0");
    EXPECT_EQ(tuns.create({}).address.to_string(), "10.0.0.1/24");
}

TEST_F(TunServiceTest, AdoptsWhatTheKernelHasAfterARestart) {
    kernel.tuns["tun7"] = {"tun7", net::InterfaceAddress::parse("10.0.0.1/24")};
    EXPECT_EQ(service().create({}).address.to_string(), "10.0.1.1/24");
}

TEST_F(TunServiceTest, ABlockRemovedBehindOurBackReturnsToThePool) {
    auto tuns = service("10.0.0.0/24");
    tuns.create({.name = "a"});
    kernel.tuns.erase("a"); // as `ip link del a` would
    EXPECT_EQ(tuns.list().size(), 0u);
    EXPECT_EQ(tuns.create({.name = "b"}).address.to_string(), "10.0.0.1/24");
}

TEST_F(TunServiceTest, ABlockRemovedBehindOurBackIsFoundWhenThePoolLooksFull) {
    auto tuns = service("10.0.0.0/23");
    tuns.create({.name = "a"});
    tuns.create({.name = "b"});
    kernel.tuns.erase("a"); // no listing in between
    EXPECT_EQ(tuns.create({.name = "c"}).address.to_string(), "10.0.0.1/24");
}

TEST_F(TunServiceTest, BackendFailureReleasesTheBlock) {
    auto tuns = service("10.0.0.0/24");
    kernel.fail_next = Error(ErrorCode::unavailable, "no /dev/net/tun");
    EXPECT_EQ(code_of([&] { tuns.create({}); }), ErrorCode::unavailable);
    EXPECT_EQ(tuns.create({}).address.to_string(), "10.0.0.1/24");
}

TEST_F(TunServiceTest, ErrorsAreTyped) {
    kernel.foreign_links = {"eth0"};
    auto tuns = service();
    tuns.create({.name = "vpn0"});
    EXPECT_EQ(code_of([&] { tuns.create({.name = "vpn0"}); }), ErrorCode::conflict);
    EXPECT_EQ(code_of([&] { tuns.create({.name = "eth0"}); }), ErrorCode::conflict);
    EXPECT_EQ(code_of([&] { tuns.create({.name = "a/b"}); }), ErrorCode::invalid);
    EXPECT_EQ(code_of([&] { tuns.create({.name = "this-name-is-too-long"}); }), ErrorCode::invalid);
    EXPECT_EQ(code_of([&] { tuns.get("eth0"); }), ErrorCode::not_found);
    EXPECT_EQ(code_of([&] { tuns.remove("eth0"); }), ErrorCode::not_found);
    EXPECT_EQ(code_of([&] { service("10.0.0.0/25"); }), ErrorCode::invalid);
    EXPECT_EQ(code_of([&] { service("fd00::/8"); }), ErrorCode::invalid);
    EXPECT_EQ(code_of([&] { service("10.0.0.0/8", "10.0.0.0/8"); }), ErrorCode::invalid);
    EXPECT_EQ(code_of([&] { service("10.0.0.0/8", "fd00::/65"); }), ErrorCode::invalid);
}

TEST_F(TunServiceTest, Ipv6GivesEachTunA64OfThePool) {
    auto tuns = service();
    auto first = tuns.create({}, {.ipv6 = true});
    ASSERT_TRUE(first.address6);
    EXPECT_EQ(first.address6->to_string(), "fd00:1::1/64");
    EXPECT_FALSE(tuns.create({}).address6) << "IPv6 only when asked for";
    EXPECT_EQ(tuns.create({}, {.ipv6 = true}).address6->to_string(), "fd00:1:0:1::1/64");
    EXPECT_EQ(tuns.allocator6().free_blocks(64), 65536u - 2);
    tuns.remove(first.name);
    EXPECT_EQ(tuns.allocator6().free_blocks(64), 65536u - 1);
    EXPECT_EQ(code_of([&] { tuns.create({.mtu = 1279}, {.ipv6 = true}); }), ErrorCode::invalid);
}

TEST_F(TunServiceTest, Ipv6PoolExhaustionGivesTheIpv4BlockBack) {
    auto tuns = service("10.0.0.0/8", "fd00:1::/63");
    tuns.create({}, {.ipv6 = true});
    tuns.create({}, {.ipv6 = true});
    EXPECT_EQ(code_of([&] { tuns.create({}, {.ipv6 = true}); }), ErrorCode::conflict);
    EXPECT_EQ(tuns.allocator().free_blocks(24), 65536u - 2);
    EXPECT_EQ(tuns.list().size(), 2u);
}

TEST_F(TunServiceTest, AdoptsIpv6BlocksAndSkipsTheHosts) {
    kernel.tuns["old"] = {"old", net::InterfaceAddress::parse("10.0.0.1/24"),
                          net::InterfaceAddress::parse("fd00:1::1/64")};
    kernel.foreign = {{Cidr::parse("fd00:1:0:1::/64"), "the route fd00:1:0:1::/64 on eth0"}};
    auto tuns = service();
    EXPECT_EQ(tuns.create({}, {.ipv6 = true}).address6->to_string(), "fd00:1:0:2::1/64");
}

} // namespace
} // namespace netd

namespace netd {
namespace {

using net::Cidr;
using testing::code_of;

// After a reboot the kernel has forgotten every TUN; the intents bring back
// what was asked for, and only that.
TEST(TunRestore, RecreatesWhatWasAskedForAfterAReboot) {
    testing::FakeKernel kernel;
    testing::FakeTunBackend backend(kernel);
    testing::FakeIntentStore store;
    std::string problem;
    {
        Intents intents(store, problem);
        TunService tuns(backend, kernel, intents, Cidr::parse("10.0.0.0/8"), Cidr::parse("fd00:1::/48"));
        tuns.create({.name = "a", .owner = "1000"});
        tuns.create({});
        tuns.create({.name = "gone"});
        tuns.remove("gone");
    }
    kernel.tuns.clear(); // the reboot
    kernel.foreign = {{Cidr::parse("10.0.1.0/24"), "the address 10.0.1.9/24 on eth0"}}; // took tun0's block meanwhile

    Intents intents(store, problem);
    EXPECT_EQ(problem, "");
    TunService tuns(backend, kernel, intents, Cidr::parse("10.0.0.0/8"), Cidr::parse("fd00:1::/48"));
    auto outcomes = tuns.restore();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_TRUE(outcomes[0].ok) << outcomes[0].message;
    EXPECT_FALSE(outcomes[1].ok);
    EXPECT_NE(outcomes[1].message.find("overlaps the address 10.0.1.9/24 on eth0"), std::string::npos) << outcomes[1].message;

    ASSERT_EQ(tuns.list().size(), 1u);
    EXPECT_EQ(tuns.get("a").address.to_string(), "10.0.0.1/24");
    EXPECT_EQ(tuns.get("a").owner, 1000u);
    EXPECT_EQ(intents.records().size(), 1u) << "the unrestorable intent was kept";
    EXPECT_TRUE(tuns.restore().empty()) << "restoring twice did something";
    EXPECT_EQ(tuns.create({}).address.to_string(), "10.0.2.1/24");
}

TEST(TunRestore, BringsBackTheIpv6AddressAndChecksItToo) {
    testing::FakeKernel kernel;
    testing::FakeTunBackend backend(kernel);
    testing::FakeIntentStore store;
    std::string problem;
    auto pool = Cidr::parse("10.0.0.0/8"), pool6 = Cidr::parse("fd00:1::/48");
    {
        Intents intents(store, problem);
        TunService tuns(backend, kernel, intents, pool, pool6);
        tuns.create({.name = "six"}, {.ipv6 = true});
        tuns.create({.name = "taken"}, {.ipv6 = true});
    }
    kernel.tuns.clear(); // the reboot
    kernel.foreign = {{Cidr::parse("fd00:1:0:1::/64"), "the address fd00:1:0:1::9/64 on eth0"}};

    Intents intents(store, problem);
    TunService tuns(backend, kernel, intents, pool, pool6);
    auto outcomes = tuns.restore();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_TRUE(outcomes[0].ok) << outcomes[0].message;
    EXPECT_NE(outcomes[0].message.find("10.0.0.0/24, fd00:1::/64"), std::string::npos) << outcomes[0].message;
    EXPECT_FALSE(outcomes[1].ok);
    EXPECT_NE(outcomes[1].message.find("overlaps the address fd00:1:0:1::9/64"), std::string::npos)
        << outcomes[1].message;
    ASSERT_TRUE(tuns.get("six").address6);
    EXPECT_EQ(tuns.get("six").address6->to_string(), "fd00:1::1/64");
    EXPECT_EQ(tuns.create({}, {.ipv6 = true}).address6->to_string(), "fd00:1:0:2::1/64");
}

} // namespace
} // namespace netd
