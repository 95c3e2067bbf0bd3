// Who may change what: a user other than root, identified by the kernel over
// TCP (NETLINK_SOCK_DIAG) and over the Unix socket (SO_PEERCRED), may only
// read unless they belong to the admin group. Each client runs as that user
// under setpriv, as a real one would.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <algorithm>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class AuthorizationTest : public NetnsTest {
protected:
    void SetUp() override {
        NetnsTest::SetUp();
        if (IsSkipped()) return;
        if (std::system("setpriv --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "setpriv (util-linux) is not installed";
        if (std::system("curl --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not installed";
    }
};

struct CurlReply {
    int status = 0;
    std::string body;
};

// nobody (uid 65534, group nogroup 65534, no other groups), as setpriv sets it.
const std::string nobody = "--reuid=65534 --regid=65534 --clear-groups";

// curl run as the user that `who` (setpriv's options) names; `args` name the
// request. The status is what curl printed last.
CurlReply curl_as(const std::string& who, const std::string& args) {
    auto command = "setpriv " + who + " curl -s -o - -w '\\n%{http_code}' " + args + " 2>/dev/null";
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    pclose(pipe);
    auto newline = out.rfind('\n');
    if (newline == std::string::npos) return {0, out};
    return {std::atoi(out.c_str() + newline + 1), out.substr(0, newline)};
}

const std::string json = "-H 'Content-Type: application/json' ";

TEST_F(AuthorizationTest, OverTcpOthersMayOnlyRead) {
    auto tuns = start_tun_daemon();
    HttpClient root("127.0.0.1", tun_port);
    ASSERT_EQ(root.post("/tun", R"({"name":"keep0"})").status, 201);

    auto created = curl_as(nobody, "-X POST " + json + "-d '{\"name\":\"evil0\"}' http://127.0.0.1:3030/tun");
    EXPECT_EQ(created.status, 403) << created.body;
    EXPECT_NE(created.body.find("uid 65534 may not change interfaces: run as root, or join the group netd"),
              std::string::npos)
        << created.body;
    auto deleted = curl_as(nobody, "-X DELETE http://127.0.0.1:3030/tun/keep0");
    EXPECT_EQ(deleted.status, 403) << deleted.body;
    auto listed = curl_as(nobody, "http://127.0.0.1:3030/tun");
    EXPECT_EQ(listed.status, 200) << listed.body;
    EXPECT_NE(listed.body.find("keep0"), std::string::npos) << listed.body;

    auto held = root.get("/tun").json();
    ASSERT_EQ(held.size(), 1u) << held.dump();
    EXPECT_EQ(held[0]["name"], "keep0") << "nobody's create or delete went through";
    EXPECT_EQ(root.del("/tun/keep0").status, 204);

    // subnet-daemon decides the same way.
    auto subnets = start_subnet_daemon();
    auto subnet = curl_as(nobody, "-X POST " + json + "-d '{}' http://127.0.0.1:3031/subnet");
    EXPECT_EQ(subnet.status, 403) << subnet.body;
    EXPECT_NE(subnet.body.find("uid 65534 may not change subnets"), std::string::npos) << subnet.body;
    EXPECT_EQ(HttpClient("127.0.0.1", subnet_port).post("/subnet", "{}").status, 201);

    tuns->stop(SIGTERM);
    auto [log, err] = tuns->expect_log_split("tun_daemon");
    EXPECT_NE(log.find("POST /tun from uid 65534 at 127.0.0.1:"), std::string::npos) << log;
    EXPECT_NE(log.find("DELETE /tun/keep0 from uid 0 at 127.0.0.1:"), std::string::npos) << log;
}

TEST_F(AuthorizationTest, OverTheUnixSocketOthersMayOnlyRead) {
    auto socket = ::testing::TempDir() + "netd-authz-" + std::to_string(getpid()) + ".sock";
    // nogroup may use the socket, so nobody reaches the daemon and only the
    // authorization stops them.
    auto tuns = start_tun_daemon({"--unix-socket", socket, "--unix-socket-group", "nogroup"});
    auto over_socket = "--unix-socket " + socket + " ";
    auto made = curl_as("--reuid=0", over_socket + "-X POST " + json + "-d '{\"name\":\"keep0\"}' http://localhost/tun");
    ASSERT_EQ(made.status, 201) << made.body;

    auto created = curl_as(nobody, over_socket + "-X POST " + json + "-d '{}' http://localhost/tun");
    EXPECT_EQ(created.status, 403) << created.body;
    EXPECT_NE(created.body.find("uid 65534 may not change interfaces: run as root, or join the group netd"),
              std::string::npos)
        << created.body;
    EXPECT_EQ(curl_as(nobody, over_socket + "-X DELETE http://localhost/tun/keep0").status, 403);
    auto listed = curl_as(nobody, over_socket + "http://localhost/tun");
    EXPECT_EQ(listed.status, 200) << listed.body;
    EXPECT_NE(listed.body.find("keep0"), std::string::npos) << listed.body;
    EXPECT_EQ(curl_as("--reuid=0", over_socket + "-X DELETE http://localhost/tun/keep0").status, 204);

    tuns->stop(SIGTERM);
    auto [log, err] = tuns->expect_log_split("tun_daemon");
    EXPECT_NE(log.find("POST /tun from uid 65534 pid "), std::string::npos) << log;
    std::filesystem::remove(socket);
}

// Membership comes from the user database: nobody's primary group is
// nogroup; uid 65533 has no entry, so running with gid nogroup gives it
// nothing.
TEST_F(AuthorizationTest, MembersOfTheAdminGroupMayChange) {
    auto tuns = start_tun_daemon({"--admin-group", "nogroup"});
    auto created = curl_as(nobody, "-X POST " + json + "-d '{\"name\":\"member0\"}' http://127.0.0.1:3030/tun");
    EXPECT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(curl_as(nobody, "-X DELETE http://127.0.0.1:3030/tun/member0").status, 204);

    auto stranger = curl_as("--reuid=65533 --regid=65534 --clear-groups",
                            "-X POST " + json + "-d '{}' http://127.0.0.1:3030/tun");
    EXPECT_EQ(stranger.status, 403) << stranger.body;
    EXPECT_NE(stranger.body.find("uid 65533 may not change interfaces: run as root, or join the group nogroup"),
              std::string::npos)
        << stranger.body;
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").json().size(), 0u);
}

// A caller in another network namespace cannot be identified (its socket is
// not in the daemon's namespace): the token is then all that lets it change
// anything. The other namespace is joined to the test's by a veth pair.
TEST_F(AuthorizationTest, AnUnidentifiedCallerMayChangeOnlyWithTheToken) {
    auto other = "netd-authz-" + std::to_string(getpid());
    if (std::system("ip link add authz-a type veth peer name authz-b 2>/dev/null") != 0) {
        GTEST_SKIP() << "this kernel has no veth link type, to reach the daemon from another namespace";
    }
    struct Remove { // the named namespace outlives the test's own unless deleted, whatever fails
        std::string name;
        ~Remove() { std::system(("ip netns del " + name + " 2>/dev/null").c_str()); }
    } remove{other};
    ASSERT_EQ(std::system(("ip netns add " + other + " && ip link set authz-b netns " + other +
                           " && ip addr add 192.168.88.1/30 dev authz-a && ip link set authz-a up && ip -n " + other +
                           " addr add 192.168.88.2/30 dev authz-b && ip -n " + other + " link set authz-b up")
                              .c_str()),
              0);
    auto dir = ::testing::TempDir() + "netd-authz-token-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/token") << "s3cret\n";
    std::filesystem::permissions(dir + "/token",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    // curl as root in the other namespace (setpriv --reuid=0 changes nothing).
    auto request = [&](const std::string& args) { return curl_as("--reuid=0 ip netns exec " + other, args); };
    {
        DaemonProcess daemon(NETD_TUN_DAEMON, tun_port,
                             {"--allow-host", "192.168.88.1:3030", "--token-file", dir + "/token"}, {},
                             "192.168.88.1");
        auto with_token =
            request("-X POST " + json + "-H 'Authorization: Bearer s3cret' -d '{}' http://192.168.88.1:3030/tun");
        EXPECT_EQ(with_token.status, 201) << with_token.body;
        auto as_nobody = curl_as(nobody, "-X POST " + json +
                                             "-H 'Authorization: Bearer s3cret' -d '{}' http://192.168.88.1:3030/tun");
        EXPECT_EQ(as_nobody.status, 403) << "the token made an identified user an admin: " << as_nobody.body;
    }
    {
        DaemonProcess daemon(NETD_TUN_DAEMON, tun_port, {"--allow-host", "192.168.88.1:3030"}, {}, "192.168.88.1");
        auto without = request("-X POST " + json + "-d '{}' http://192.168.88.1:3030/tun");
        EXPECT_EQ(without.status, 403) << without.body;
        EXPECT_NE(without.body.find("an unidentified caller (not on this host) may not change interfaces"),
                  std::string::npos)
            << without.body;
        EXPECT_EQ(request("http://192.168.88.1:3030/tun").status, 200);
    }
    std::filesystem::remove_all(dir);
}

// A local client whose socket is IPv6, connected to the IPv4 daemon as
// ::ffff:127.0.0.1, is who it is all the same: not an unidentified caller
// whom the token alone would make an admin.
TEST_F(AuthorizationTest, AnIpv4MappedClientIsIdentifiedToo) {
    auto dir = ::testing::TempDir() + "netd-authz-mapped-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/token") << "s3cret\n";
    std::filesystem::permissions(dir + "/token",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    {
        DaemonProcess daemon(NETD_TUN_DAEMON, tun_port, {"--token-file", dir + "/token"});
        auto mapped = curl_as(nobody, "-X POST " + json +
                                          "-H 'Host: 127.0.0.1:3030' -H 'Authorization: Bearer s3cret' -d '{}' "
                                          "'http://[::ffff:127.0.0.1]:3030/tun'");
        EXPECT_EQ(mapped.status, 403) << mapped.body;
        EXPECT_NE(mapped.body.find("uid 65534 may not change interfaces"), std::string::npos) << mapped.body;
        daemon.stop(SIGTERM);
        auto lines = daemon.log_lines("tun_daemon.log");
        bool named = std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
            return line.find("POST /tun from uid 65534 at 127.0.0.1:") != std::string::npos;
        });
        EXPECT_TRUE(named) << "the log does not name the caller: " << ::testing::PrintToString(lines);
    }
    std::filesystem::remove_all(dir);
}

// --self-service: nobody may make TUNs of their own and delete them, within
// the quota, but not touch root's, nor reach beyond their TUN.
TEST_F(AuthorizationTest, SelfServiceKeepsUsersToTheirOwnTuns) {
    auto tuns = start_tun_daemon({"--self-service", "--self-service-quota", "2"});
    HttpClient root("127.0.0.1", tun_port);
    ASSERT_EQ(root.post("/tun", R"({"name":"root0"})").status, 201);
    auto post = [](const std::string& body) {
        return curl_as(nobody, "-X POST " + json + "-d '" + body + "' http://127.0.0.1:3030/tun");
    };

    auto mine = post(R"({"name":"mine0"})");
    ASSERT_EQ(mine.status, 201) << mine.body;
    EXPECT_EQ(nlohmann::json::parse(mine.body)["owner"], 65534) << "the TUN is not the caller's";
    EXPECT_EQ(root.get("/tun/mine0").json()["owner"], 65534) << "the kernel does not have it owned";
    auto theirs = post(R"({"name":"x0","owner":0})");
    EXPECT_EQ(theirs.status, 403) << theirs.body;
    EXPECT_NE(theirs.body.find("uid 65534 may only create TUNs it owns"), std::string::npos) << theirs.body;
    auto routed = post(R"({"name":"x1","routes":["192.168.50.0/24"]})");
    EXPECT_EQ(routed.status, 403) << routed.body;
    EXPECT_NE(routed.body.find("routes\\\" needs an admin"), std::string::npos) << routed.body;
    EXPECT_EQ(post(R"({"name":"x2","address":"172.16.0.1/24"})").status, 403);

    auto others = curl_as(nobody, "-X DELETE http://127.0.0.1:3030/tun/root0");
    EXPECT_EQ(others.status, 403) << others.body;
    EXPECT_NE(others.body.find("uid 65534 may only delete TUNs it owns; root0 belongs to uid 0"), std::string::npos)
        << others.body;

    EXPECT_EQ(post(R"({"name":"mine1"})").status, 201);
    auto over = post(R"({"name":"mine2"})");
    EXPECT_EQ(over.status, 403) << over.body;
    EXPECT_NE(over.body.find("already owns 2 TUNs"), std::string::npos) << over.body;
    EXPECT_EQ(curl_as(nobody, "-X DELETE http://127.0.0.1:3030/tun/mine0").status, 204);
    EXPECT_EQ(post(R"({"name":"mine2"})").status, 201) << "a deleted TUN still counts against the quota";

    std::set<std::string> names;
    for (const auto& tun : root.get("/tun").json()) names.insert(tun["name"].get<std::string>());
    EXPECT_EQ(names, (std::set<std::string>{"root0", "mine1", "mine2"}));
}

// Routes that only the host's default route covers (8.8.8.8/32, 1.1.1.0/24)
// overlap nothing on the host, so the overlap check lets them through: with
// --self-service the rules must still refuse them, and an address whose
// block is wider than a /24 (the connected route 10.0.0.0/8), before
// anything reaches the kernel. An admin may still route them there.
TEST_F(AuthorizationTest, SelfServiceRoutesThatOnlyTheDefaultRouteCoversNeedAnAdmin) {
    sh("ip route add blackhole default");
    auto tuns = start_tun_daemon({"--self-service"});
    auto post = [](const std::string& body) {
        return curl_as(nobody, "-X POST " + json + "-d '" + body + "' http://127.0.0.1:3030/tun");
    };
    auto dsts = [] {
        std::set<std::string> found;
        for (const auto& route : ip_json("-4 route show table all")) found.insert(route.value("dst", ""));
        return found;
    };
    auto before = dsts();

    auto routed = post(R"({"name":"r0","routes":["8.8.8.8/32","1.1.1.0/24"]})");
    EXPECT_EQ(routed.status, 403) << routed.body;
    EXPECT_NE(routed.body.find("routes\\\" needs an admin: uid 65534"), std::string::npos) << routed.body;
    auto whole_pool = post(R"({"name":"w0","address":"10.0.0.1/8"})");
    EXPECT_EQ(whole_pool.status, 403) << whole_pool.body;
    EXPECT_NE(whole_pool.body.find("a block larger than /24 needs an admin: uid 65534"), std::string::npos)
        << whole_pool.body;
    EXPECT_FALSE(link("r0")) << "a refused TUN reached the kernel";
    EXPECT_FALSE(link("w0")) << "a refused TUN reached the kernel";
    EXPECT_EQ(dsts(), before) << "a refused request changed the host's routes";
    HttpClient root("127.0.0.1", tun_port);
    EXPECT_TRUE(root.get("/tun").json().empty());

    // The same request from root: routing chosen destinations into a TUN is
    // what a VPN does, and the default route does not stand in its way.
    auto admin = root.post("/tun", R"({"name":"r0","routes":["8.8.8.8/32","1.1.1.0/24"]})");
    EXPECT_EQ(admin.status, 201) << admin.body;
    std::set<std::string> routed_to_r0;
    for (const auto& route : ip_json("-4 route show dev r0 proto 78")) routed_to_r0.insert(route.value("dst", ""));
    EXPECT_EQ(routed_to_r0, (std::set<std::string>{"8.8.8.8", "1.1.1.0/24"}));
}

// subnet-daemon --self-service. Off (the default), nobody is told how to get
// access. On, nobody may add subnets of its own in the pool, no larger than
// the default /24, up to the quota, and delete those, but not root's, nor
// one outside the pool (--allow-outside-pool is for admins).
TEST_F(AuthorizationTest, SelfServiceKeepsUsersToTheirOwnSubnets) {
    auto post = [](const std::string& body) {
        return curl_as(nobody, "-X POST " + json + "-d '" + body + "' http://127.0.0.1:3031/subnet");
    };
    auto remove = [](const std::string& cidr) {
        return curl_as(nobody, "-X DELETE http://127.0.0.1:3031/subnet/" + cidr);
    };
    {
        auto off = start_subnet_daemon({"--backend", "loopback"});
        auto refused = post("{}");
        EXPECT_EQ(refused.status, 403) << refused.body;
        EXPECT_NE(refused.body.find("uid 65534 may not change subnets: run as root, or join the group netd"),
                  std::string::npos)
            << refused.body;
        EXPECT_TRUE(HttpClient("127.0.0.1", subnet_port).get("/subnet").json().empty());
    }

    auto subnets = start_subnet_daemon(
        {"--backend", "loopback", "--self-service", "--self-service-quota", "2", "--allow-outside-pool"});
    HttpClient root("127.0.0.1", subnet_port);
    ASSERT_EQ(root.post("/subnet", R"({"cidr":"10.1.0.0/24"})").status, 201);

    auto mine = post("{}");
    ASSERT_EQ(mine.status, 201) << mine.body;
    EXPECT_EQ(nlohmann::json::parse(mine.body)["owner"], 65534) << "the subnet is not the caller's";
    EXPECT_EQ(nlohmann::json::parse(mine.body)["network"], "10.0.0.0/24");
    auto listed = curl_as(nobody, "http://127.0.0.1:3031/subnet");
    ASSERT_EQ(listed.status, 200) << listed.body;
    std::map<std::string, nlohmann::json> owners;
    for (const auto& subnet : nlohmann::json::parse(listed.body)) {
        owners[subnet["network"]] = subnet.value("owner", nlohmann::json());
    }
    EXPECT_EQ(owners, (std::map<std::string, nlohmann::json>{{"10.0.0.0/24", 65534}, {"10.1.0.0/24", nullptr}}));

    auto larger = post(R"({"prefix_len":16})");
    EXPECT_EQ(larger.status, 403) << larger.body;
    EXPECT_NE(larger.body.find("a subnet larger than /24 needs an admin: uid 65534"), std::string::npos)
        << larger.body;
    EXPECT_EQ(post(R"({"cidr":"10.8.0.0/16"})").status, 403);
    auto outside = post(R"({"cidr":"192.168.7.0/24"})");
    EXPECT_EQ(outside.status, 403) << outside.body;
    EXPECT_NE(outside.body.find("outside the pool 10.0.0.0/8 needs an admin"), std::string::npos) << outside.body;
    EXPECT_EQ(post(R"({"cidr":"8.8.8.0/24"})").status, 403);

    auto roots = remove("10.1.0.0%2F24");
    EXPECT_EQ(roots.status, 403) << roots.body;
    EXPECT_NE(roots.body.find("uid 65534 may only delete subnets it created; 10.1.0.0/24 has no owner"),
              std::string::npos)
        << roots.body;

    EXPECT_EQ(post(R"({"cidr":"10.2.0.0/24"})").status, 201);
    auto over = post("{}");
    EXPECT_EQ(over.status, 403) << over.body;
    EXPECT_NE(over.body.find("uid 65534 already holds 2 subnets"), std::string::npos) << over.body;
    EXPECT_EQ(remove("10.0.0.0/24").status, 204) << "its own, the CIDR unencoded";
    EXPECT_EQ(post(R"({"cidr":"10.3.0.0/24"})").status, 201) << "a deleted subnet still counts against the quota";

    std::set<std::string> on_lo;
    for (const auto& address : ipv4_addresses("lo")) on_lo.insert(address["local"].get<std::string>());
    EXPECT_EQ(on_lo, (std::set<std::string>{"127.0.0.1", "10.1.0.1", "10.2.0.1", "10.3.0.1"}))
        << "the kernel holds what was refused, or lacks what was made";
}

// Nothing in the kernel says who made a subnet on lo, so the journal does:
// a restart (kill -9, the kernel keeps the subnets) and a reboot (a new
// namespace, the subnets restored from the journal) both keep the owners.
TEST_F(AuthorizationTest, SubnetOwnersSurviveARestartAndAReboot) {
    auto state = ::testing::TempDir() + "netd-selfsvc-" + std::to_string(getpid());
    std::filesystem::remove_all(state);
    std::filesystem::create_directories(state);
    struct Remove {
        std::string path;
        ~Remove() { std::filesystem::remove_all(path); }
    } remove_state{state};
    const std::vector<std::string> args{"--backend", "loopback", "--self-service", "--state-dir", state};
    auto remove = [](const std::string& cidr) {
        return curl_as(nobody, "-X DELETE http://127.0.0.1:3031/subnet/" + cidr);
    };
    nlohmann::json before;
    {
        auto subnets = start_subnet_daemon(args);
        HttpClient root("127.0.0.1", subnet_port);
        ASSERT_EQ(root.post("/subnet", R"({"cidr":"10.1.0.0/24"})").status, 201);
        auto mine =
            curl_as(nobody, "-X POST " + json + "-d '{\"cidr\":\"10.2.0.0/24\"}' http://127.0.0.1:3031/subnet");
        ASSERT_EQ(mine.status, 201) << mine.body;
        before = root.get("/subnet").json();
        subnets->stop(SIGKILL);
    }
    ASSERT_EQ(before.size(), 2u) << before.dump();
    EXPECT_EQ(before[1]["owner"], 65534) << before.dump();
    {
        auto subnets = start_subnet_daemon(args);
        EXPECT_EQ(HttpClient("127.0.0.1", subnet_port).get("/subnet").json(), before) << "after a restart";
        EXPECT_EQ(remove("10.1.0.0%2F24").status, 403);
        subnets->stop(SIGTERM);
    }
    enter_new_netns(); // a reboot
    auto subnets = start_subnet_daemon(args);
    EXPECT_EQ(HttpClient("127.0.0.1", subnet_port).get("/subnet").json(), before) << "after a reboot";
    EXPECT_EQ(remove("10.1.0.0%2F24").status, 403) << "root's subnet became nobody's";
    EXPECT_EQ(remove("10.2.0.0%2F24").status, 204) << "nobody's subnet is no longer theirs";
}

TEST_F(AuthorizationTest, ATokenFileOthersCouldReadIsRefused) {
    auto dir = ::testing::TempDir() + "netd-token-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    auto token = dir + "/token";
    std::ofstream(token) << "s3cret\n";
    auto run = [&] {
        // Bounded: a daemon that took the file would serve until killed.
        return run_to_exit("/usr/bin/timeout", {"10", NETD_TUN_DAEMON, "--listen", "127.0.0.1:0", "--log-dir", dir,
                                                "--state-dir", dir + "/state", "--token-file", token});
    };
    ASSERT_EQ(chmod(token.c_str(), 0644), 0);
    auto open_file = run();
    EXPECT_EQ(open_file.exit_code, 1);
    EXPECT_NE(open_file.stderr_text.find("the token file " + token + " is open to group or others (mode 0644)"),
              std::string::npos)
        << open_file.stderr_text;
    EXPECT_EQ(std::count(open_file.stderr_text.begin(), open_file.stderr_text.end(), '\n'), 1)
        << open_file.stderr_text;

    ASSERT_EQ(chmod(token.c_str(), 0600), 0);
    ASSERT_EQ(chown(token.c_str(), 65534, 65534), 0);
    auto not_ours = run();
    EXPECT_EQ(not_ours.exit_code, 1);
    EXPECT_NE(not_ours.stderr_text.find("is owned by uid 65534, not by the daemon's uid 0"), std::string::npos)
        << not_ours.stderr_text;
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace netd::testing
