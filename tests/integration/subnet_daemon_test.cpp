// The real subnet-daemon, driven over HTTP inside a network namespace of the
// test's own, with every answer checked against what the kernel holds.

#include <signal.h>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class SubnetDaemonTest : public NetnsTest {
protected:
    static std::unique_ptr<DaemonProcess> start(std::vector<std::string> extra = {}) {
        return start_subnet_daemon(std::move(extra));
    }
};

// The address the daemon reports must be on the interface it names: on lo
// with the label lo:N (IPv6 addresses take no label: "lo"), or on a dummy
// link of its own.
void expect_kernel_holds(const nlohmann::json& subnet) {
    auto interface = subnet["interface"].get<std::string>();
    auto device = interface.substr(0, interface.find(':'));
    auto network = subnet["network"].get<std::string>();
    auto prefix = std::stoi(network.substr(network.find('/') + 1));
    bool ipv6 = network.find(':') != std::string::npos;
    auto addresses = ipv6 ? ipv6_addresses(device) : ipv4_addresses(device);
    bool found = false;
    for (const auto& address : addresses) {
        if (address["local"] == subnet["address"]) {
            found = true;
            EXPECT_EQ(address["prefixlen"], prefix);
            if (!ipv6) {
                EXPECT_EQ(address["label"], interface);
            }
        }
    }
    EXPECT_TRUE(found) << subnet.dump() << " not on " << device << ": " << addresses.dump();
}

bool address_anywhere(const std::string& address) {
    return ip_json("addr show").dump().find("\"" + address + "\"") != std::string::npos;
}

TEST_F(SubnetDaemonTest, SpecFlowMatchesTheKernel) {
    auto daemon = start({"--backend", "loopback"});
    HttpClient client("127.0.0.1", subnet_port);

    auto created = client.post("/subnet", R"({"cidr":"10.1.0.0/24"})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json(), nlohmann::json::parse(R"({"network":"10.1.0.0/24","interface":"lo:0","address":"10.1.0.1"})"));
    expect_kernel_holds(created.json());

    EXPECT_EQ(client.get("/subnet").json(), nlohmann::json::array({created.json()}));
    EXPECT_EQ(client.get("/subnet/10.1.0.0%2F24").json(), created.json());
    EXPECT_EQ(client.get("/subnet/10.1.0.0/24").json(), created.json());

    EXPECT_EQ(client.del("/subnet/10.1.0.0%2F24").status, 204);
    EXPECT_FALSE(address_anywhere("10.1.0.1"));
    auto again = client.del("/subnet/10.1.0.0%2F24");
    EXPECT_EQ(again.status, 404) << again.body;
    EXPECT_EQ(client.del("/subnet/10.1.0.0%2F2x").status, 400);
    EXPECT_EQ(client.get("/subnet").json(), nlohmann::json::array());
}

TEST_F(SubnetDaemonTest, Ipv6SubnetsFollowTheSameRules) {
    sh("ip -6 route add fd12:3456:789a:9::/64 dev lo");
    auto daemon = start({"--backend", "loopback"});
    HttpClient client("127.0.0.1", subnet_port);

    auto created = client.post("/subnet", R"({"cidr":"fd12:3456:789a:1::/64"})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json(), nlohmann::json::parse(
                                  R"({"network":"fd12:3456:789a:1::/64","interface":"lo","address":"fd12:3456:789a:1::1"})"));
    expect_kernel_holds(created.json());
    auto v4 = client.post("/subnet", R"({"cidr":"10.1.0.0/24"})");
    ASSERT_EQ(v4.status, 201) << v4.body;
    EXPECT_EQ(v4.json()["interface"], "lo:0") << "an IPv6 subnet took an IPv4 label";

    auto inside = client.post("/subnet", R"({"cidr":"fd12:3456:789a::/48"})");
    EXPECT_EQ(inside.status, 409);
    EXPECT_NE(inside.body.find("overlaps the subnet fd12:3456:789a:1::/64 on lo"), std::string::npos) << inside.body;
    auto routed = client.post("/subnet", R"({"cidr":"fd12:3456:789a:9::/80"})");
    EXPECT_EQ(routed.status, 409);
    EXPECT_NE(routed.body.find("the route fd12:3456:789a:9::/64 on lo"), std::string::npos) << routed.body;
    EXPECT_EQ(client.post("/subnet", R"({"cidr":"2001:db8::/64"})").status, 409) << "outside fd00::/8";
    EXPECT_EQ(client.post("/subnet", R"({"cidr":"fd12::1/64"})").status, 400);
    EXPECT_EQ(client.post("/subnet", R"({"cidr":"fd12::%lo/64"})").status, 400);
    EXPECT_EQ(client.post("/subnet", R"({"cidr":"::ffff:10.9.0.0/120"})").status, 400);
    EXPECT_EQ(client.post("/subnet", R"({"cidr":"fd12::/127"})").status, 400);

    // Adopted after kill -9, in network order, IPv4 first.
    daemon->stop(SIGKILL);
    daemon = start({"--backend", "loopback"});
    HttpClient again("127.0.0.1", subnet_port);
    EXPECT_EQ(again.get("/subnet").json(), nlohmann::json::array({v4.json(), created.json()}));

    // Encoded colons and slash, and any spelling of the same network.
    EXPECT_EQ(again.get("/subnet/fd12%3A3456%3A789a%3A1%3A%3A%2F64").json(), created.json());
    EXPECT_EQ(again.del("/subnet/FD12:3456:789A:0001:0:0:0:0%2F64").status, 204);
    EXPECT_FALSE(address_anywhere("fd12:3456:789a:1::1"));
    EXPECT_EQ(again.del("/subnet/fd12%3A3456%3A789a%3A1%3A%3A%2F64").status, 404);
    EXPECT_TRUE(address_anywhere("::1")) << "lo's own address went too";
}

TEST_F(SubnetDaemonTest, UnencodedDeleteWorks) {
    auto daemon = start({"--backend", "loopback"});
    HttpClient client("127.0.0.1", subnet_port);
    ASSERT_EQ(client.post("/subnet", R"({"cidr":"10.3.0.0/16"})").status, 201);
    EXPECT_EQ(client.del("/subnet/10.3.0.0/16").status, 204);
    EXPECT_FALSE(address_anywhere("10.3.0.1"));
}

TEST_F(SubnetDaemonTest, ConflictsNameTheOtherParty) {
    sh("ip route add 10.9.0.0/16 dev lo");
    auto daemon = start({"--backend", "loopback"});
    HttpClient client("127.0.0.1", subnet_port);
    ASSERT_EQ(client.post("/subnet", R"({"cidr":"10.1.0.0/24"})").status, 201);
    struct Case {
        const char* body;
        int status;
        const char* fragment;
    };
    for (const auto& c : std::vector<Case>{
             {R"({"cidr":"10.1.0.0/25"})", 409, "overlaps the subnet 10.1.0.0/24 on lo:0"},
             {R"({"cidr":"10.0.0.0/8"})", 409, "overlaps"},
             {R"({"cidr":"10.9.1.0/24"})", 409, "10.9.0.0/16"},
             {R"({"cidr":"192.168.1.0/24"})", 409, "outside the pool"},
             {R"({"cidr":"10.1.0.1/24"})", 400, "host bits"},
             {R"({"cidr":"10.2.0.0/31"})", 400, "from 8 to 30"},
             {R"({"cidr":"010.2.0.0/24"})", 400, "leading zero"},
             {R"({"cidr":"10.2/16"})", 400, "4 octets"},
             {R"({"cidr":24})", 400, "must be a string"},
             {R"({"cidr":"10.2.0.0/24","extra":1})", 400, "unknown field"},
         }) {
        auto reply = client.post("/subnet", c.body);
        EXPECT_EQ(reply.status, c.status) << c.body << ": " << reply.body;
        EXPECT_NE(reply.body.find(c.fragment), std::string::npos) << c.body << ": " << reply.body;
    }
    EXPECT_EQ(client.get("/subnet").json().size(), 1u) << "a rejected request left a subnet behind";
}

TEST_F(SubnetDaemonTest, OutsidePoolWhenAllowed) {
    auto daemon = start({"--backend", "loopback", "--allow-outside-pool"});
    HttpClient client("127.0.0.1", subnet_port);
    auto created = client.post("/subnet", R"({"cidr":"192.168.50.0/24"})");
    ASSERT_EQ(created.status, 201) << created.body;
    expect_kernel_holds(created.json());
}

TEST_F(SubnetDaemonTest, BothDaemonsShareTheAddressSpace) {
    auto tun_daemon = start_tun_daemon();
    auto daemon = start();
    HttpClient tuns("127.0.0.1", tun_port);
    HttpClient subnets("127.0.0.1", subnet_port);

    auto tun = tuns.post("/tun", "{}");
    ASSERT_EQ(tun.status, 201) << tun.body;
    EXPECT_EQ(tun.json()["ip_addr"], "10.0.0.1");

    auto overlapping = subnets.post("/subnet", R"({"cidr":"10.0.0.0/24"})");
    EXPECT_EQ(overlapping.status, 409) << overlapping.body;
    EXPECT_NE(overlapping.body.find("tun0"), std::string::npos) << overlapping.body;

    // Automatic allocation skips the TUN's block and anything else on the host...
    sh("ip route add 10.0.1.0/24 dev lo");
    auto automatic = subnets.post("/subnet", "{}");
    ASSERT_EQ(automatic.status, 201) << automatic.body;
    EXPECT_EQ(automatic.json()["network"], "10.0.2.0/24");
    expect_kernel_holds(automatic.json());

    // ...and tun-daemon skips the subnet's.
    EXPECT_EQ(tuns.post("/tun", "{}").json()["ip_addr"], "10.0.3.1");

    auto sized = subnets.post("/subnet", R"({"prefix_len":26})");
    ASSERT_EQ(sized.status, 201) << sized.body;
    EXPECT_EQ(sized.json()["network"], "10.0.4.0/26");
    expect_kernel_holds(sized.json());
}

TEST_F(SubnetDaemonTest, AdoptsItsSubnetsAfterARestart) {
    auto daemon = start({"--backend", "loopback"});
    nlohmann::json before;
    {
        HttpClient client("127.0.0.1", subnet_port);
        client.post("/subnet", R"({"cidr":"10.1.0.0/24"})");
        client.post("/subnet", "{}");
        before = client.get("/subnet").json();
    }
    ASSERT_EQ(before.size(), 2u);
    daemon->stop(SIGKILL);
    daemon = start({"--backend", "loopback"});
    HttpClient client("127.0.0.1", subnet_port);
    EXPECT_EQ(client.get("/subnet").json(), before);
    EXPECT_EQ(client.post("/subnet", "{}").json()["network"], "10.0.1.0/24");
}

TEST_F(SubnetDaemonTest, ATunsExtraAddressIsTunDaemonsNotASubnet) {
    // tun-daemon marks a TUN's extra addresses with the same protocol tag.
    auto tuns = start_tun_daemon();
    auto daemon = start({"--backend", "loopback"});
    HttpClient tun_client("127.0.0.1", tun_port);
    ASSERT_EQ(tun_client.post("/tun", R"({"name":"site0","extra_addresses":["192.168.7.1/24"]})").status, 201);
    HttpClient client("127.0.0.1", subnet_port);
    EXPECT_EQ(client.get("/subnet").json(), nlohmann::json::array());
    EXPECT_EQ(client.del("/subnet/192.168.7.0%2F24").status, 404);
    EXPECT_EQ(tun_client.get("/tun/site0").json()["extra_addresses"], nlohmann::json::array({"192.168.7.1/24"}));
}

TEST_F(SubnetDaemonTest, NeverTouchesForeignAddresses) {
    sh("ip addr add 10.5.0.1/24 dev lo label lo:7");
    auto daemon = start({"--backend", "loopback"});
    HttpClient client("127.0.0.1", subnet_port);
    EXPECT_EQ(client.get("/subnet").json(), nlohmann::json::array());
    EXPECT_EQ(client.del("/subnet/10.5.0.0%2F24").status, 404);
    EXPECT_EQ(client.post("/subnet", R"({"cidr":"10.5.0.0/24"})").status, 409);
    EXPECT_TRUE(address_anywhere("10.5.0.1"));
}

TEST_F(SubnetDaemonTest, DummyBackendWhereTheKernelHasIt) {
    if (std::system("ip link add netdprobe0 type dummy 2>/dev/null") != 0) {
        GTEST_SKIP() << "this kernel has no dummy link type (RTM_NEWLINK kind dummy fails)";
    }
    sh("ip link del netdprobe0");
    auto daemon = start({"--backend", "dummy"});
    HttpClient client("127.0.0.1", subnet_port);
    auto created = client.post("/subnet", R"({"cidr":"10.1.0.0/24"})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json()["interface"], "netd0");
    auto kernel_link = link("netd0");
    ASSERT_TRUE(kernel_link);
    EXPECT_EQ((*kernel_link)["linkinfo"]["info_kind"], "dummy");
    EXPECT_EQ((*kernel_link)["ifalias"], "netd:subnet-daemon");
    EXPECT_EQ(client.del("/subnet/10.1.0.0%2F24").status, 204);
    EXPECT_FALSE(link("netd0"));
    auto six = client.post("/subnet", R"({"cidr":"fd12::/64"})");
    ASSERT_EQ(six.status, 201) << six.body;
    expect_kernel_holds(six.json());
    EXPECT_EQ(client.del("/subnet/fd12::%2F64").status, 204);
}

TEST_F(SubnetDaemonTest, AutoBackendFallsBackToLoopbackWithoutDummy) {
    if (std::system("ip link add netdprobe0 type dummy 2>/dev/null") == 0) {
        sh("ip link del netdprobe0");
        GTEST_SKIP() << "this kernel has the dummy link type, so auto does not fall back";
    }
    auto daemon = start();
    HttpClient client("127.0.0.1", subnet_port);
    auto created = client.post("/subnet", R"({"cidr":"10.1.0.0/24"})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json()["interface"], "lo:0");
    expect_kernel_holds(created.json());
    auto forced = std::make_unique<DaemonProcess>(NETD_SUBNET_DAEMON, 3032, std::vector<std::string>{"--backend", "dummy"});
    HttpClient dummy_client("127.0.0.1", 3032);
    EXPECT_EQ(dummy_client.post("/subnet", R"({"cidr":"10.2.0.0/24"})").status, 503);
    daemon->stop(SIGTERM);
    auto err = daemon->log_lines("subnet_daemon.err");
    EXPECT_TRUE(std::any_of(err.begin(), err.end(), [](const auto& l) { return l.find("no dummy link type") != std::string::npos; }))
        << "the fallback was not logged at WARN";
}

TEST_F(SubnetDaemonTest, LogsSplitByLevel) {
    auto daemon = start({"--backend", "loopback"});
    {
        HttpClient client("127.0.0.1", subnet_port);
        client.post("/subnet", R"({"cidr":"10.1.0.0/24"})");
        client.del("/subnet/10.1.0.0%2F24");
    }
    {
        HttpClient client("127.0.0.1", subnet_port);
        EXPECT_EQ(client.post("/subnet", std::string(70 * 1024, ' ')).status, 413);
    }
    EXPECT_EQ(daemon->stop(SIGTERM), 0);
    auto [log, err] = daemon->expect_log_split("subnet_daemon");
    EXPECT_NE(log.find("POST /subnet 201"), std::string::npos) << log;
    EXPECT_NE(log.find("DELETE /subnet/10.1.0.0%2F24 204"), std::string::npos) << log;
    EXPECT_NE(err.find("over 65536 bytes"), std::string::npos) << err;
}

} // namespace
} // namespace netd::testing
