#include <functional>
#include <map>
#include <optional>

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

// All or nothing with the journal: when it cannot record a change (a full
// disk), the kernel does not keep it either, and the answer is unavailable
// with the journal's reason.
TEST_F(TunServiceTest, ACreateTheJournalCannotRecordIsUndone) {
    auto tuns = service("10.0.0.0/23");
    tuns.create({.name = "a"});
    // 0: the begin fails, before the kernel hears of it; 1: the begin is
    // written and the completion fails, after the kernel made the TUN.
    for (int writes : {0, 1}) {
        store.writes_left = writes;
        try {
            tuns.create({.name = "b"}, {.ipv6 = true});
            ADD_FAILURE() << writes << ": no error";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::unavailable) << writes;
            EXPECT_NE(std::string(error.what()).find("No space left on device"), std::string::npos) << error.what();
            EXPECT_NE(std::string(error.what()).find("nothing was changed"), std::string::npos) << error.what();
        }
        EXPECT_FALSE(kernel.tuns.contains("b")) << writes << ": the kernel kept what the journal lacks";
        EXPECT_EQ(tuns.list().size(), 1u) << writes;
        EXPECT_EQ(intents.records().size(), 1u) << writes;
        EXPECT_GE(intents.write_failures(), static_cast<std::uint64_t>(writes + 1));
        ASSERT_TRUE(intents.write_problem());
        store.writes_left.reset();
        store.refuse.reset();
    }
    EXPECT_EQ(tuns.allocator().free_blocks(24), 1u) << "a failed create kept its block";
    EXPECT_EQ(tuns.allocator6().free_blocks(64), 65536u) << "a failed create kept its IPv6 block";
    EXPECT_EQ(tuns.create({.name = "b"}).address.to_string(), "10.0.1.1/24");
    EXPECT_FALSE(intents.write_problem()) << "still degraded after a write succeeded";
    EXPECT_TRUE(intents.records().contains("b"));
}

TEST_F(TunServiceTest, TheCreateIsJournaledBeforeTheKernelHearsOfIt) {
    auto tuns = service();
    tuns.create({.name = "a"});
    auto before = *store.text;
    kernel.fail_next = Error(ErrorCode::unavailable, "no /dev/net/tun");
    EXPECT_EQ(code_of([&] { tuns.create({}); }), ErrorCode::unavailable);
    // The name is picked before the kernel is asked, so that it can be journaled.
    EXPECT_EQ(store.text->substr(before.size()),
              R"({"begin":"tun0","record":{"address":"10.0.1.1/24","mtu":1500,"owner":"0"}})"
              "\n"
              R"({"abandon":"tun0"})"
              "\n");
    tuns.create({});
    EXPECT_TRUE(intents.pending().empty());
    EXPECT_TRUE(intents.records().contains("tun0"));
}

TEST_F(TunServiceTest, ADeleteTheJournalCannotRecordKeepsTheTun) {
    auto tuns = service();
    tuns.create({.name = "a"});
    store.refuse = "Read-only file system";
    EXPECT_EQ(code_of([&] { tuns.remove("a"); }), ErrorCode::unavailable);
    EXPECT_TRUE(kernel.tuns.contains("a")) << "deleted although the journal still has it";
    EXPECT_TRUE(intents.records().contains("a"));
    store.refuse.reset();

    // Journaled first: when the kernel then refuses, the intent is put back.
    kernel.fail_next = Error(ErrorCode::unavailable, "the kernel refused");
    EXPECT_EQ(code_of([&] { tuns.remove("a"); }), ErrorCode::unavailable);
    EXPECT_TRUE(kernel.tuns.contains("a"));
    Intents reloaded(store, problem);
    EXPECT_TRUE(reloaded.records().contains("a")) << "the journal forgot a TUN the kernel kept";
    tuns.remove("a");
    EXPECT_TRUE(intents.records().empty());
}

TEST_F(TunServiceTest, ReconcileJournalsWhatTheKernelHasAndDropsUnfinishedCreates) {
    kernel.tuns["stray"] = {"stray", net::InterfaceAddress::parse("10.0.5.1/24"), std::nullopt, 65534u, std::nullopt,
                            9000};
    kernel.tuns["done"] = {"done", net::InterfaceAddress::parse("10.0.6.1/24")};
    intents.begin("done", {{"address", "10.0.6.1/24"}, {"mtu", 1500}});
    intents.begin("lost", {{"address", "10.0.7.1/24"}, {"mtu", 1500}});
    auto outcomes = service().reconcile();
    EXPECT_EQ(outcomes.size(), 3u);
    for (const auto& outcome : outcomes) EXPECT_TRUE(outcome.ok) << outcome.message;
    EXPECT_TRUE(intents.pending().empty());
    EXPECT_EQ(intents.records().at("stray"),
              (nlohmann::json{{"address", "10.0.5.1/24"}, {"mtu", 9000}, {"owner", "65534"}}));
    EXPECT_TRUE(intents.records().contains("done"));
    EXPECT_FALSE(intents.records().contains("lost"));

    // What a reboot then brings back is what was adopted.
    kernel.tuns.clear();
    auto restored = service().restore();
    EXPECT_EQ(restored.size(), 2u);
    EXPECT_EQ(kernel.tuns.at("stray").mtu, 9000);
    EXPECT_EQ(kernel.tuns.at("stray").owner, 65534u);
}

TEST_F(TunServiceTest, WithoutAKernelRestartWhatTheKernelLacksIsForgottenNotRecreated) {
    service().create({"kept"});
    service().create({"removed"});
    kernel.tuns.erase("removed"); // behind the daemon's back, or its erase lost with the journal
    auto outcomes = service().restore(false);
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_TRUE(outcomes[0].ok) << outcomes[0].message;
    EXPECT_NE(outcomes[0].message.find("forgot removed"), std::string::npos) << outcomes[0].message;
    EXPECT_FALSE(kernel.tuns.contains("removed")) << "recreated without a kernel restart";
    EXPECT_FALSE(intents.records().contains("removed"));
    EXPECT_TRUE(intents.records().contains("kept"));

    // After a restart of the kernel the same journal brings everything back.
    kernel.tuns.clear();
    EXPECT_EQ(service().restore(true).size(), 1u);
    EXPECT_TRUE(kernel.tuns.contains("kept"));
}

TEST(TunPool6, IsTheUniqueLocal48MostOfTheTunsAreIn) {
    auto tun = [](const char* address6) {
        TunInterface made{"t", net::InterfaceAddress::parse("10.0.0.1/24")};
        if (*address6) made.address6 = net::InterfaceAddress::parse(address6);
        return made;
    };
    struct Case {
        std::vector<const char*> addresses;
        const char* expected; // "" for none
    };
    for (const auto& [addresses, expected] : std::vector<Case>{
             {{}, ""},
             {{"", ""}, ""},
             {{"2001:db8::1/64"}, ""}, // not unique local: a --pool6 of the operator's
             {{"fd12:3456:789a:1::1/64"}, "fd12:3456:789a::/48"},
             {{"fd12:3456:789a:1::1/64", "fd00:1::1/64", "fd12:3456:789a:2::1/64", ""}, "fd12:3456:789a::/48"},
         }) {
        std::vector<TunInterface> tuns;
        for (const auto* address : addresses) tuns.push_back(tun(address));
        auto found = TunService::pool6_in_use(tuns);
        EXPECT_EQ(found ? found->to_string() : "", expected);
    }
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

// What a restore sees: TUNs one daemon made, a reboot (the kernel forgets
// them), and a new daemon over the same journal.
class TunRestoreTest : public ::testing::Test {
protected:
    void before_reboot(const std::function<void(TunService&)>& make) {
        {
            Intents intents(store, problem);
            TunService tuns(backend, kernel, intents, pool, pool6);
            make(tuns);
        }
        kernel.tuns.clear();
    }
    TunService& after_reboot() {
        intents.emplace(store, problem);
        return tuns.emplace(backend, kernel, *intents, pool, pool6);
    }

    testing::FakeKernel kernel;
    testing::FakeTunBackend backend{kernel};
    testing::FakeIntentStore store;
    std::string problem;
    Cidr pool = Cidr::parse("10.0.0.0/8"), pool6 = Cidr::parse("fd00:1::/48");
    std::optional<Intents> intents;
    std::optional<TunService> tuns;
};

TEST_F(TunRestoreTest, ChecksExtraAddressesAndRoutesLikeACreate) {
    before_reboot([](TunService& tuns) {
        tuns.create({.name = "extra", .extra_addresses = {net::InterfaceAddress::parse("192.168.7.1/24")}});
        tuns.create({.name = "route", .routes = {Cidr::parse("10.200.0.0/16")}});
        tuns.create({.name = "fine"});
    });
    // Meanwhile others hold what the extras and routes need.
    kernel.foreign = {{Cidr::parse("192.168.7.0/24"), "the address 192.168.7.1/24 on lo"},
                      {Cidr::parse("10.200.5.0/24"), "the route 10.200.5.0/24"}};
    auto& restored = after_reboot();
    std::map<std::string, std::string> outcomes;
    for (const auto& outcome : restored.restore()) {
        outcomes[outcome.key] = (outcome.ok ? "ok: " : "failed: ") + outcome.message;
    }
    EXPECT_NE(outcomes["extra"].find("failed: could not restore extra: 192.168.7.0/24 overlaps"), std::string::npos)
        << outcomes["extra"];
    EXPECT_NE(outcomes["route"].find("failed: could not restore route: 10.200.0.0/16 overlaps"), std::string::npos)
        << outcomes["route"];
    EXPECT_EQ(outcomes["fine"].rfind("ok: ", 0), 0u) << outcomes["fine"];
    EXPECT_EQ(restored.list().size(), 1u);
}

// The journal keeps a TUN's mark; a mark someone else's rule took
// meanwhile keeps the TUN from coming back, and the outcome says why.
TEST_F(TunRestoreTest, BringsBackTheMarkAndChecksItToo) {
    auto routes = std::vector{Cidr::parse("10.200.0.0/16")};
    before_reboot([&](TunService& tuns) {
        tuns.create({.name = "kept", .routes = routes, .mark = TunMark{100, 1000}});
        tuns.create({.name = "taken", .routes = routes, .mark = TunMark{200, 2000}});
    });
    kernel.foreign_marks = {{200, "the IPv4 rule \"fwmark 200 lookup 5\""}};
    auto& restored = after_reboot();
    auto outcomes = restored.restore();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_TRUE(outcomes[0].ok) << outcomes[0].message;
    EXPECT_FALSE(outcomes[1].ok);
    EXPECT_NE(outcomes[1].message.find("fwmark 200 is taken"), std::string::npos) << outcomes[1].message;
    EXPECT_EQ(restored.get("kept").mark, (TunMark{100, 1000}));
    EXPECT_EQ(restored.get("kept").routes, routes);
}

TEST_F(TunRestoreTest, BringsBackTheIpv6AddressAndChecksItToo) {
    before_reboot([](TunService& tuns) {
        tuns.create({.name = "six"}, {.ipv6 = true});
        tuns.create({.name = "taken"}, {.ipv6 = true});
    });
    kernel.foreign = {{Cidr::parse("fd00:1:0:1::/64"), "the address fd00:1:0:1::9/64 on eth0"}};
    auto& restored = after_reboot();
    auto outcomes = restored.restore();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_TRUE(outcomes[0].ok) << outcomes[0].message;
    EXPECT_NE(outcomes[0].message.find("10.0.0.0/24, fd00:1::/64"), std::string::npos) << outcomes[0].message;
    EXPECT_FALSE(outcomes[1].ok);
    EXPECT_NE(outcomes[1].message.find("overlaps the address fd00:1:0:1::9/64"), std::string::npos)
        << outcomes[1].message;
    ASSERT_TRUE(restored.get("six").address6);
    EXPECT_EQ(restored.get("six").address6->to_string(), "fd00:1::1/64");
    EXPECT_EQ(restored.create({}, {.ipv6 = true}).address6->to_string(), "fd00:1:0:2::1/64");
}

} // namespace
} // namespace netd
