// "mark" (policy routing) against the kernel: the rule "fwmark N lookup T"
// and the TUN's routes in table T, read back with ip; conflicts with what
// others hold; adoption after kill -9, restore after a reboot, removal.

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class TunMarkTest : public NetnsTest {
protected:
    void TearDown() override { std::filesystem::remove_all(state); }

    std::unique_ptr<DaemonProcess> start() { return start_tun_daemon({"--state-dir", state}); }

    std::string state = ::testing::TempDir() + "netd-mark-" + std::to_string(getpid());
};

// The rules of `family` ("-4", "-6") with fwmark `value`, as "fwmark/table/protocol".
std::set<std::string> rules_with(const char* family, std::uint32_t value) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", value);
    std::set<std::string> out;
    for (const auto& rule : ip_json(std::string(family) + " rule show")) {
        if (rule.value("fwmark", "") != hex) continue;
        out.insert(std::string(hex) + "/" + rule.value("table", "") + "/" + rule.value("protocol", ""));
    }
    return out;
}

// The routes of table `table` of `family` as "destination dev protocol".
std::set<std::string> routes_in(const char* family, std::uint32_t table) {
    std::set<std::string> out;
    for (const auto& route : ip_json(std::string(family) + " route show table all")) {
        if (route.value("table", "") != std::to_string(table)) continue;
        out.insert(route.value("dst", "") + " " + route.value("dev", "") + " " + route.value("protocol", ""));
    }
    return out;
}

TEST_F(TunMarkTest, ARuleAndRoutesInItsTableListedAndRemovedWithTheTun) {
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post("/tun", R"({"name":"vpn0","ipv6":true,"routes":["10.200.0.0/16","fd99::/48"],
                                           "mark":{"value":100,"table":1000}})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json()["mark"], nlohmann::json::parse(R"({"value":100,"table":1000})"));
    EXPECT_EQ(created.json()["routes"], nlohmann::json::parse(R"(["10.200.0.0/16","fd99::/48"])"));

    EXPECT_EQ(rules_with("-4", 100), std::set<std::string>{"0x64/1000/78"});
    EXPECT_EQ(rules_with("-6", 100), std::set<std::string>{"0x64/1000/78"});
    EXPECT_EQ(routes_in("-4", 1000), std::set<std::string>{"10.200.0.0/16 vpn0 78"});
    EXPECT_EQ(routes_in("-6", 1000), std::set<std::string>{"fd99::/48 vpn0 78"});
    EXPECT_TRUE(ip_json("route show dev vpn0 proto 78").empty()) << "a marked route went in the main table";
    EXPECT_EQ(client.get("/tun/vpn0").json(), created.json()) << "not read back from the kernel alike";

    // A TUN without ipv6 gets an IPv4 rule alone; a table past 255 and one
    // below both work.
    auto four = client.post("/tun", R"({"name":"vpn1","routes":["10.201.0.0/16"],"mark":{"value":4294967295,"table":7}})");
    ASSERT_EQ(four.status, 201) << four.body;
    EXPECT_EQ(rules_with("-4", 0xffffffffu), std::set<std::string>{"0xffffffff/7/78"});
    EXPECT_TRUE(rules_with("-6", 0xffffffffu).empty());

    // kill -9: adopted with its mark, as the kernel has it.
    auto before = client.get("/tun").json();
    daemon->stop(SIGKILL);
    daemon = start();
    HttpClient again("127.0.0.1", tun_port);
    EXPECT_EQ(again.get("/tun").json(), before);

    ASSERT_EQ(again.del("/tun/vpn0").status, 204);
    EXPECT_TRUE(rules_with("-4", 100).empty()) << "DELETE left the rule";
    EXPECT_TRUE(rules_with("-6", 100).empty()) << "DELETE left the IPv6 rule";
    EXPECT_TRUE(routes_in("-4", 1000).empty());
    EXPECT_TRUE(routes_in("-6", 1000).empty());
    EXPECT_EQ(rules_with("-4", 0xffffffffu).size(), 1u) << "DELETE took another TUN's rule";

    // Deleted behind the daemon's back: its routes go with it, its rule
    // stays, and is swept rather than left holding the mark.
    sh("ip link del vpn1");
    auto reused = again.post("/tun", R"({"name":"vpn2","routes":["10.201.0.0/16"],"mark":{"value":4294967295,"table":7}})");
    EXPECT_EQ(reused.status, 201) << reused.body;
    EXPECT_EQ(rules_with("-4", 0xffffffffu), std::set<std::string>{"0xffffffff/7/78"});
}

TEST_F(TunMarkTest, WhatOthersHoldIsAConflictAndBadMarksAreRefused) {
    sh("ip rule add fwmark 200 table 300");
    sh("ip route add 10.55.0.0/16 dev lo table 400");
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    ASSERT_EQ(client.post("/tun", R"({"name":"ours0","routes":["10.9.0.0/16"],"mark":{"value":1,"table":10}})").status,
              201);
    struct Case {
        const char* body;
        int status;
        const char* message;
    };
    for (const auto& c : std::vector<Case>{
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":200,"table":500}})", 409,
              "fwmark 200 is taken: the IPv4 rule \"fwmark 200 lookup 300\""},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":201,"table":300}})", 409, "table 300 is taken"},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":201,"table":400}})", 409,
              "table 400 is taken: it holds the route 10.55.0.0/16 on lo, which tun-daemon did not make"},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":1,"table":11}})", 409, "the mark of ours0"},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":2,"table":10}})", 409, "table 10 is taken"},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":2,"table":254}})", 400, "\"mark.table\""},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":0,"table":20}})", 400, "\"mark.value\""},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":2,"table":20,"mask":1}})", 400, "unknown field \"mark.mask\""},
             {R"({"routes":["10.8.0.0/16"],"mark":{"value":2}})", 400, "\"mark.table\" is required"},
             {R"({"routes":["10.8.0.0/16"],"mark":7})", 400, "field \"mark\" must be an object"},
             {R"({"mark":{"value":2,"table":20}})", 400, "\"mark\" needs \"routes\""},
         }) {
        auto reply = client.post("/tun", c.body);
        EXPECT_EQ(reply.status, c.status) << c.body << ": " << reply.body;
        auto message = reply.json()["error"]["message"].get<std::string>();
        EXPECT_NE(message.find(c.message), std::string::npos) << c.body << ": " << message;
    }
    EXPECT_EQ(ip_json("link show type tun").size(), 1u) << "a refused request left a TUN behind";
    EXPECT_EQ(ip_json("rule show").size(), 5u) << ip_json("rule show").dump() << ": a refused request left a rule";
    EXPECT_TRUE(routes_in("-4", 500).empty());
}

// At start, a rule of ours (protocol 78) whose table holds none of our
// routes is what a crash or a TUN deleted behind the daemon's back left: it
// goes, and is logged. Anyone else's rule stays, whatever it looks like.
TEST_F(TunMarkTest, TheStartSweepsRulesOfOursLeftWithoutATun) {
    sh("ip rule add fwmark 9 table 9 proto 78");
    sh("ip -6 rule add fwmark 9 table 9 proto 78");
    sh("ip rule add fwmark 10 table 10");
    auto daemon = start();
    EXPECT_TRUE(rules_with("-4", 9).empty()) << "a stale rule of ours survived the start";
    EXPECT_TRUE(rules_with("-6", 9).empty()) << "a stale IPv6 rule of ours survived the start";
    EXPECT_EQ(rules_with("-4", 10), std::set<std::string>{"0xa/10/"}) << "a foreign rule was touched";
    EXPECT_EQ(daemon->stop(SIGTERM), 0);
    auto [log, err] = daemon->expect_log_split("tun_daemon");
    EXPECT_NE(err.find("removed the IPv4 rule \"fwmark 9 lookup 9\""), std::string::npos) << err;
}

TEST_F(TunMarkTest, ARebootRestoresTheMarkFromTheJournal) {
    nlohmann::json before;
    {
        auto daemon = start();
        HttpClient client("127.0.0.1", tun_port);
        auto created = client.post("/tun", R"({"name":"vpn0","routes":["10.200.0.0/16"],"mark":{"value":51,"table":52}})");
        ASSERT_EQ(created.status, 201) << created.body;
        before = client.get("/tun").json();
        daemon->stop(SIGKILL);
    }
    enter_new_netns(); // a reboot: the kernel has forgotten everything
    ASSERT_TRUE(rules_with("-4", 51).empty());
    auto daemon = start();
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").json(), before);
    EXPECT_EQ(rules_with("-4", 51), std::set<std::string>{"0x33/52/78"});
    EXPECT_EQ(routes_in("-4", 52), std::set<std::string>{"10.200.0.0/16 vpn0 78"});
}

} // namespace
} // namespace netd::testing
