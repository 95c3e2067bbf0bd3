#include <gtest/gtest.h>

#include "error_code.hpp"
#include "fake_kernel.hpp"
#include "netd/error.hpp"
#include "netd/subnet_service.hpp"
#include "netd/tun_service.hpp"

namespace netd {
namespace {

using net::Cidr;
using testing::code_of;


// Two hosts over one set of claims: each has its own kernel and services.
struct Host {
    Host(testing::FakeClaims& claims, const std::string& node) : coordinator(claims, node) {}

    testing::FakeKernel kernel;
    testing::FakeTunBackend tun_backend{kernel};
    testing::FakeSubnetBackend subnet_backend{kernel};
    testing::FakeIntentStore store;
    std::string problem;
    Intents intents{store, problem};
    testing::FakeCoordinator coordinator;
    TunService tuns{tun_backend, kernel, intents, Cidr::parse("10.0.0.0/8"), Cidr::parse("fd00:1::/48"), coordinator};
    SubnetService subnets{subnet_backend, kernel, intents, {.pool = Cidr::parse("10.0.0.0/8")}, coordinator};
};

class CoordinatorTest : public ::testing::Test {
protected:
    testing::FakeClaims claims;
    Host a{claims, "node-a"}, b{claims, "node-b"};
};

TEST_F(CoordinatorTest, HostsNeverHandOutTheSameBlock) {
    std::set<Cidr> blocks;
    for (int i = 0; i < 10; ++i) {
        blocks.insert(a.tuns.create({}).address.network());
        blocks.insert(b.tuns.create({}).address.network());
        blocks.insert(b.subnets.allocate(24).network);
    }
    EXPECT_EQ(blocks.size(), 30u);
    EXPECT_EQ(claims.claims.size(), 30u);
    EXPECT_EQ(claims.claims.at(Cidr::parse("10.0.0.0/24")).node, "node-a");
    EXPECT_EQ(claims.claims.at(Cidr::parse("10.0.1.0/24")).node, "node-b");
}

TEST_F(CoordinatorTest, AClaimLostToAConcurrentOneIsRetried) {
    a.coordinator.before_next_claim = [&] { b.subnets.add(Cidr::parse("10.0.0.0/24")); };
    auto tun = a.tuns.create({.name = "vpn0"});
    EXPECT_EQ(tun.address.network(), Cidr::parse("10.0.1.0/24"));
    EXPECT_EQ(claims.claims.at(Cidr::parse("10.0.1.0/24")).name, "vpn0");
    EXPECT_EQ(claims.claims.at(Cidr::parse("10.0.0.0/24")).node, "node-b");
}

TEST_F(CoordinatorTest, ExplicitRangesHeldElsewhereAreConflictsNamingTheNode) {
    a.subnets.add(Cidr::parse("10.7.0.0/16"));
    try {
        b.subnets.add(Cidr::parse("10.7.3.0/24"));
        ADD_FAILURE() << "accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::conflict);
        EXPECT_NE(std::string(error.what()).find("claimed by test on node node-a"), std::string::npos) << error.what();
    }
    EXPECT_EQ(code_of([&] { b.tuns.create({}, {.address = net::InterfaceAddress::parse("10.7.9.1/24")}); }),
              ErrorCode::conflict);
    EXPECT_TRUE(b.kernel.subnets.empty() && b.kernel.tuns.empty()) << "a refused claim left something behind";
    // Outside the pool: no part of the shared plan.
    EXPECT_EQ(b.tuns.create({}, {.address = net::InterfaceAddress::parse("172.16.0.1/24")}).name, "tun0");
    EXPECT_FALSE(claims.claims.contains(Cidr::parse("172.16.0.0/24")));
}

TEST_F(CoordinatorTest, NothingIsAllocatedWithoutAClaim) {
    claims.reachable = false;
    EXPECT_EQ(code_of([&] { a.tuns.create({}); }), ErrorCode::unavailable);
    EXPECT_EQ(code_of([&] { a.subnets.allocate(24); }), ErrorCode::unavailable);
    EXPECT_EQ(code_of([&] { a.subnets.add(Cidr::parse("10.9.0.0/24")); }), ErrorCode::unavailable);
    EXPECT_TRUE(a.kernel.tuns.empty() && a.kernel.subnets.empty());
    EXPECT_EQ(a.tuns.allocator().free_blocks(24), 65536u) << "a block stayed held";
    claims.reachable = true;
    auto block = a.tuns.create({}).address.network();
    EXPECT_EQ(claims.claims.at(block).node, "node-a");
}

TEST_F(CoordinatorTest, RemovingOrFailingGivesTheClaimBack) {
    auto tun = a.tuns.create({.name = "vpn0"});
    a.tuns.remove("vpn0");
    EXPECT_TRUE(claims.claims.empty());
    a.kernel.fail_next = Error(ErrorCode::unavailable, "no /dev/net/tun");
    EXPECT_EQ(code_of([&] { a.tuns.create({}); }), ErrorCode::unavailable);
    a.kernel.fail_next = Error(ErrorCode::unavailable, "the kernel said no");
    EXPECT_EQ(code_of([&] { a.subnets.add(Cidr::parse("10.9.0.0/24")); }), ErrorCode::unavailable);
    EXPECT_TRUE(claims.claims.empty());
    // Another node's claim is not ours to give back.
    b.subnets.add(Cidr::parse("10.9.0.0/24"));
    a.coordinator.release(Cidr::parse("10.9.0.0/24"));
    EXPECT_EQ(claims.claims.size(), 1u);
}

// A real coordinator decides on a thread of its own: a request that needs a
// claim answers busy, having changed nothing, and its re-run (same ticket)
// picks up the outcome.
TEST_F(CoordinatorTest, ConcurrentRequestsWaitForTheirClaimsAndGetDistinctBlocks) {
    a.coordinator.asynchronous = true;
    EXPECT_EQ(code_of([&] { a.subnets.allocate(24, 1); }), ErrorCode::busy);
    EXPECT_EQ(code_of([&] { a.tuns.create({}, {}, 2); }), ErrorCode::busy);
    EXPECT_EQ(code_of([&] { a.subnets.allocate(24, 1); }), ErrorCode::busy) << "a re-run asked again";
    EXPECT_EQ(a.coordinator.pending(), 2u);
    EXPECT_TRUE(a.kernel.subnets.empty() && a.kernel.tuns.empty() && claims.claims.empty());
    a.coordinator.decide();
    EXPECT_EQ(a.subnets.allocate(24, 1).network, Cidr::parse("10.0.0.0/24"));
    EXPECT_EQ(a.tuns.create({}, {}, 2).address.network(), Cidr::parse("10.0.1.0/24"));
    EXPECT_EQ(claims.transactions, 2);
    EXPECT_EQ(a.coordinator.pending(), 0u);
}

TEST_F(CoordinatorTest, ARaceLostWhileWaitingIsRetriedWithAnotherBlock) {
    a.coordinator.asynchronous = true;
    EXPECT_EQ(code_of([&] { a.subnets.allocate(24, 7); }), ErrorCode::busy);
    b.subnets.add(Cidr::parse("10.0.0.0/24")); // node-b is first
    a.coordinator.decide();
    EXPECT_EQ(code_of([&] { a.subnets.allocate(24, 7); }), ErrorCode::busy) << "the re-run claims another block";
    a.coordinator.decide();
    EXPECT_EQ(a.subnets.allocate(24, 7).network, Cidr::parse("10.0.1.0/24"));
    EXPECT_EQ(claims.claims.at(Cidr::parse("10.0.0.0/24")).node, "node-b");
}

TEST_F(CoordinatorTest, AnExplicitRangeIsAConflictOnceItsClaimIsLost) {
    b.subnets.add(Cidr::parse("10.7.0.0/16"));
    a.coordinator.asynchronous = true;
    EXPECT_EQ(code_of([&] { a.subnets.add(Cidr::parse("10.7.1.0/24"), 3); }), ErrorCode::busy);
    a.coordinator.decide();
    EXPECT_EQ(code_of([&] { a.subnets.add(Cidr::parse("10.7.1.0/24"), 3); }), ErrorCode::conflict);
    EXPECT_TRUE(a.kernel.subnets.empty());
}

TEST_F(CoordinatorTest, AClaimThatCouldNotBeMadeIsUnavailableOnTheReRun) {
    a.coordinator.asynchronous = true;
    EXPECT_EQ(code_of([&] { a.tuns.create({}, {}, 4); }), ErrorCode::busy);
    claims.reachable = false;
    a.coordinator.decide();
    EXPECT_EQ(code_of([&] { a.tuns.create({}, {}, 4); }), ErrorCode::unavailable);
    EXPECT_TRUE(a.kernel.tuns.empty());
    EXPECT_EQ(a.tuns.allocator().free_blocks(24), 65536u) << "the block set aside stayed held";
}

TEST(ClaimRetryDelayTest, FullJitterOverAnExponentialBackoff) {
    struct Case {
        int attempt;
        double random;
        int millis;
    };
    for (const auto& [attempt, random, millis] : {Case{0, 1.0, 0}, Case{1, 1.0, 5}, Case{1, 0.5, 2}, Case{2, 1.0, 10},
                                                  Case{5, 1.0, 80}, Case{6, 1.0, 160}, Case{7, 1.0, 200},
                                                  Case{19, 1.0, 200}, Case{19, 0.0, 0}}) {
        EXPECT_EQ(claim_retry_delay(attempt, random).count(), millis) << attempt << " " << random;
    }
}

TEST(AllocatorSpreadTest, HostsStartTheirSearchApart) {
    testing::FakeKernel kernel;
    Allocator spread(Cidr::parse("10.0.0.0/8"));
    spread.spread(65536 * 3 + 300);
    EXPECT_EQ(spread.allocate(24, kernel, {}), Cidr::parse("10.1.44.0/24"));
    EXPECT_EQ(spread.allocate(24, kernel, {}), Cidr::parse("10.1.45.0/24"));
    Allocator plain(Cidr::parse("10.0.0.0/8"));
    EXPECT_EQ(plain.allocate(24, kernel, {}), Cidr::parse("10.0.0.0/24"));
}

} // namespace
} // namespace netd
