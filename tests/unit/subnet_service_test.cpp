#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "netd/error.hpp"
#include "netd/subnet_service.hpp"

namespace netd {
namespace {

using net::Cidr;
using testing::FakeKernel;
using testing::FakeSubnetBackend;

class SubnetServiceTest : public ::testing::Test {
protected:
    FakeKernel kernel;
    FakeSubnetBackend backend{kernel};
    testing::FakeIntentStore store;
    std::string problem;
    Intents intents{store, problem};

    SubnetService service(bool allow_outside_pool = false) {
        return SubnetService(backend, kernel, intents,
                             {.pool = Cidr::parse("10.0.0.0/8"), .allow_outside_pool = allow_outside_pool});
    }

    // The error an add of `cidr` gives, after `before` were added.
    std::pair<ErrorCode, std::string> add_error(SubnetService& subnets, const char* cidr) {
        try {
            subnets.add(Cidr::parse(cidr));
        } catch (const Error& error) {
            return {error.code(), error.what()};
        }
        return {ErrorCode::internal, "no error"};
    }
};

TEST_F(SubnetServiceTest, AddsTheSpecsSubnet) {
    auto subnet = service().add(Cidr::parse("10.1.0.0/24"));
    EXPECT_EQ(subnet.network.to_string(), "10.1.0.0/24");
    EXPECT_EQ(subnet.address.to_string(), "10.1.0.1/24");
    EXPECT_EQ(subnet.interface, "lo:0");
}

TEST_F(SubnetServiceTest, RejectsWithReasons) {
    kernel.foreign = {{Cidr::parse("10.9.0.0/16"), "the route 10.9.0.0/16 on eth0"}};
    auto subnets = service();
    subnets.add(Cidr::parse("10.1.0.0/24"));
    struct Case {
        const char* cidr;
        ErrorCode code;
        const char* fragment;
    };
    for (const auto& c : std::vector<Case>{
             {"10.1.0.0/25", ErrorCode::conflict, "overlaps the subnet 10.1.0.0/24 on lo:0"},
             {"10.0.0.0/15", ErrorCode::conflict, "overlaps the subnet 10.1.0.0/24 on lo:0"},
             {"10.9.4.0/24", ErrorCode::conflict, "overlaps the route 10.9.0.0/16 on eth0"},
             {"192.168.0.0/24", ErrorCode::conflict, "outside the pool 10.0.0.0/8"},
             {"10.2.0.0/31", ErrorCode::invalid, "from 8 to 30, not 31"},
             {"10.0.0.0/7", ErrorCode::invalid, "from 8 to 30, not 7"},
         }) {
        auto [code, message] = add_error(subnets, c.cidr);
        EXPECT_EQ(code, c.code) << c.cidr << ": " << message;
        EXPECT_NE(message.find(c.fragment), std::string::npos) << c.cidr << ": " << message;
    }
}

TEST_F(SubnetServiceTest, OutsidePoolWhenAllowed) {
    EXPECT_EQ(service(true).add(Cidr::parse("192.168.7.0/24")).network.to_string(), "192.168.7.0/24");
}

TEST_F(SubnetServiceTest, AllocatesSizesAroundWhatIsTaken) {
    kernel.foreign = {{Cidr::parse("10.0.0.0/24"), "the address 10.0.0.1/24 on tun0"}};
    auto subnets = service();
    subnets.add(Cidr::parse("10.0.1.0/25"));
    EXPECT_EQ(subnets.allocate(24).network.to_string(), "10.0.2.0/24");
    EXPECT_EQ(subnets.allocate(25).network.to_string(), "10.0.1.128/25");
    EXPECT_EQ(subnets.allocate(16).network.to_string(), "10.1.0.0/16");
    EXPECT_EQ(subnets.allocate(24).network.to_string(), "10.0.3.0/24");
}

TEST_F(SubnetServiceTest, RemoveThenNotFound) {
    auto subnets = service();
    subnets.add(Cidr::parse("10.1.0.0/24"));
    subnets.remove(Cidr::parse("10.1.0.0/24"));
    EXPECT_TRUE(subnets.list().empty());
    try {
        subnets.remove(Cidr::parse("10.1.0.0/24"));
        FAIL();
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::not_found);
    }
}

TEST_F(SubnetServiceTest, AdoptsWhatTheKernelHas) {
    kernel.subnets[Cidr::parse("10.0.0.0/24")] = {Cidr::parse("10.0.0.0/24"), net::InterfaceAddress::parse("10.0.0.1/24"), "lo:0"};
    auto subnets = service();
    EXPECT_EQ(subnets.list().size(), 1u);
    EXPECT_EQ(subnets.allocate(24).network.to_string(), "10.0.1.0/24");
}

TEST_F(SubnetServiceTest, WhatTheJournalCannotRecordTheKernelDoesNotKeep) {
    auto subnets = service();
    subnets.add(Cidr::parse("10.1.0.0/24"));
    for (int writes : {0, 1}) { // the begin fails; the completion fails
        store.writes_left = writes;
        EXPECT_EQ(add_error(subnets, "10.2.0.0/24").first, ErrorCode::unavailable) << writes;
        store.writes_left = writes;
        try {
            subnets.allocate(24);
            ADD_FAILURE() << writes << ": no error";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::unavailable);
        }
        store.writes_left.reset();
        store.refuse.reset();
        EXPECT_EQ(kernel.subnets.size(), 1u) << writes << ": the kernel kept what the journal lacks";
        EXPECT_EQ(intents.records().size(), 1u) << writes;
    }
    EXPECT_EQ(subnets.allocator().free_blocks(24), 65536u - 1) << "a failed allocation kept its block";

    store.refuse = "Read-only file system";
    EXPECT_THROW(subnets.remove(Cidr::parse("10.1.0.0/24")), Error);
    EXPECT_TRUE(kernel.subnets.contains(Cidr::parse("10.1.0.0/24"))) << "deleted although the journal still has it";
    store.refuse.reset();
    kernel.fail_next = Error(ErrorCode::unavailable, "the kernel refused");
    EXPECT_THROW(subnets.remove(Cidr::parse("10.1.0.0/24")), Error);
    EXPECT_TRUE(intents.records().contains("10.1.0.0/24")) << "the intent was not put back";
    subnets.remove(Cidr::parse("10.1.0.0/24"));
    EXPECT_FALSE(intents.records().contains("10.1.0.0/24"));
}

TEST_F(SubnetServiceTest, ReconcileJournalsWhatTheKernelHas) {
    kernel.subnets[Cidr::parse("10.9.0.0/24")] = {Cidr::parse("10.9.0.0/24"),
                                                  net::InterfaceAddress::parse("10.9.0.1/24"), "netd4"};
    intents.begin("10.8.0.0/24", {{"interface", ""}});
    auto outcomes = service().reconcile();
    EXPECT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(intents.records().at("10.9.0.0/24"), (nlohmann::json{{"interface", "netd4"}}));
    EXPECT_TRUE(intents.pending().empty());
}

// The kernel has nowhere to keep who made a subnet, so its intent does: from
// the begin on, so that a crash between the kernel's add and the record
// keeps it (see subnet_self_service_test). An admin's subnet has none.
TEST_F(SubnetServiceTest, AnOwnerIsJournaledWithItsSubnet) {
    auto subnets = service();
    EXPECT_EQ(subnets.add(Cidr::parse("10.1.0.0/24"), 1000).owner, 1000u);
    // A snapshot with the begun create, then the line that completes it.
    EXPECT_EQ(*store.text, R"({"intents":{},"pending":{"10.1.0.0/24":{"interface":"","owner":1000}},"version":5})"
                           "\n"
                           R"({"put":"10.1.0.0/24","record":{"interface":"lo:0","owner":1000}})"
                           "\n");
    EXPECT_EQ(subnets.allocate(24, 1001).owner, 1001u);
    subnets.add(Cidr::parse("10.2.0.0/24"));
    std::map<std::string, std::optional<std::uint32_t>> owners;
    for (const auto& subnet : subnets.list()) owners[subnet.network.to_string()] = subnet.owner;
    EXPECT_EQ(owners, (std::map<std::string, std::optional<std::uint32_t>>{
                          {"10.0.0.0/24", 1001}, {"10.1.0.0/24", 1000}, {"10.2.0.0/24", std::nullopt}}));
    EXPECT_EQ(intents.records().at("10.2.0.0/24"), (nlohmann::json{{"interface", "lo:2"}}));
    subnets.remove(Cidr::parse("10.1.0.0/24"));
    EXPECT_FALSE(intents.records().contains("10.1.0.0/24"));
}

} // namespace
} // namespace netd
