// The real tun-daemon, driven over HTTP inside a network namespace of the
// test's own, with every answer checked against what the kernel holds.

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netd/net/ip.hpp"
#include "netns.hpp"
#include "unique_fd.hpp"

namespace netd::testing {
namespace {

class TunDaemonTest : public NetnsTest {
protected:
    static std::unique_ptr<DaemonProcess> start(std::vector<std::string> extra = {}) {
        return start_tun_daemon(std::move(extra));
    }
};

// The kernel's view of a TUN must be exactly what the API said.
void expect_kernel_matches(const nlohmann::json& tun) {
    auto name = tun["name"].get<std::string>();
    auto kernel_link = link(name);
    ASSERT_TRUE(kernel_link) << name << " is not in the kernel";
    EXPECT_EQ((*kernel_link)["linkinfo"]["info_kind"], "tun");
    EXPECT_EQ((*kernel_link)["ifalias"], "netd:tun-daemon");
    auto flags = (*kernel_link)["flags"].dump();
    EXPECT_NE(flags.find("\"UP\""), std::string::npos) << flags;

    // Both families' addresses, as "address/prefix" sets: the main ones
    // and the extras.
    auto texts = [](const nlohmann::json& addresses) {
        std::set<std::string> out;
        for (const auto& address : addresses) {
            out.insert(address["local"].get<std::string>() + "/" + address["prefixlen"].dump());
        }
        return out;
    };
    std::set<std::string> expected4{tun["ip_addr"].get<std::string>() + "/" + tun["prefix_len"].dump()}, expected6;
    if (tun["ipv6"]) expected6.insert(tun["ip6_addr"].get<std::string>() + "/64");
    for (const auto& extra : tun.value("extra_addresses", nlohmann::json::array())) {
        auto text = extra.get<std::string>();
        (text.find(':') == std::string::npos ? expected4 : expected6).insert(text);
    }
    auto addresses = ipv4_addresses(name);
    EXPECT_EQ(texts(addresses), expected4) << addresses.dump();
    auto addresses6 = ipv6_addresses(name);
    EXPECT_EQ(texts(addresses6), expected6) << addresses6.dump();
    ASSERT_FALSE(addresses.empty());
    EXPECT_EQ(addresses[0]["local"], tun["ip_addr"]);
    EXPECT_EQ(addresses[0]["broadcast"], tun["broadcast"]);
    std::set<std::string> routed, expected_routes;
    for (const auto& family : {"-4", "-6"}) {
        for (const auto& route : ip_json(std::string(family) + " route show dev " + name + " proto 78")) {
            routed.insert(route["dst"].get<std::string>());
        }
    }
    for (const auto& route : tun["routes"]) expected_routes.insert(route.get<std::string>());
    EXPECT_EQ(routed, expected_routes) << "the routes netd added (protocol 78, 0x4e)";
    EXPECT_EQ((*kernel_link)["mtu"], tun["mtu"]);
    auto detailed = ip_json("-d link show dev " + name);
    ASSERT_EQ(detailed.size(), 1u);
    EXPECT_EQ(detailed[0]["linkinfo"]["info_data"]["multi_queue"], tun.value("multi_queue", false)) << detailed.dump();
}

TEST_F(TunDaemonTest, SpecFlowMatchesTheKernel) {
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);

    auto created = client.post("/tun", "{}");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.content_type, "application/json");
    EXPECT_EQ(created.json(), nlohmann::json::parse(
                                  R"({"name":"tun0","owner":0,"ip_addr":"10.0.0.1","netmask":"255.255.255.0","broadcast":"10.0.0.255",
                                      "prefix_len":24,"mtu":1500,"ipv6":false,"routes":[]})"));
    expect_kernel_matches(created.json());

    auto named = client.post("/tun", R"({"name":"vpn0"})");
    ASSERT_EQ(named.status, 201) << named.body;
    EXPECT_EQ(named.json()["name"], "vpn0");
    EXPECT_EQ(named.json()["ip_addr"], "10.0.1.1");
    expect_kernel_matches(named.json());

    auto listed = client.get("/tun");
    ASSERT_EQ(listed.status, 200);
    EXPECT_EQ(listed.json(), nlohmann::json::array({created.json(), named.json()}));
    EXPECT_EQ(client.get("/tun/vpn0").json(), named.json());

    EXPECT_EQ(client.del("/tun/vpn0").status, 204);
    EXPECT_FALSE(link("vpn0")) << "vpn0 is still in the kernel";
    EXPECT_EQ(client.get("/tun/vpn0").status, 404);
    EXPECT_EQ(client.del("/tun/vpn0").status, 404);
    EXPECT_EQ(client.get("/tun").json(), nlohmann::json::array({created.json()}));
}

// What a TUN is for: a program attaches and reads what the host routes into
// it. Until one does, the TUN has no carrier, and the kernel leaves its IPv6
// link-local address until then too.
TEST_F(TunDaemonTest, AProgramThatAttachesReadsWhatIsRoutedToIt) {
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post("/tun", R"({"name":"app0","routes":["10.9.0.0/16"]})");
    ASSERT_EQ(created.status, 201) << created.body;
    auto flags = [] { return (*link("app0"))["flags"].dump(); };
    EXPECT_EQ(flags().find("LOWER_UP"), std::string::npos) << flags();
    auto link_local = [] { return ip_json("-6 addr show scope link dev app0").dump(); };
    EXPECT_EQ(link_local().find("fe80:"), std::string::npos) << link_local();

    platform::UniqueFd tun(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(tun) << std::strerror(errno);
    ifreq request{};
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(request.ifr_name, "app0", IFNAMSIZ - 1);
    ASSERT_EQ(ioctl(tun.get(), TUNSETIFF, &request), 0) << std::strerror(errno);
    EXPECT_NE(flags().find("LOWER_UP"), std::string::npos) << flags();
    EXPECT_NE(link_local().find("fe80:"), std::string::npos) << link_local();
    EXPECT_EQ(client.get("/tun/app0").json(), created.json()) << "attaching changed what the daemon reports";

    platform::UniqueFd udp(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    inet_pton(AF_INET, "10.9.1.2", &to.sin_addr);
    ASSERT_EQ(sendto(udp.get(), "netd", 4, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 4) << std::strerror(errno);
    // The kernel may send IPv6 chatter first (MLD, router solicitations) now
    // that the TUN is live; the datagram is the IPv4 packet to 10.9.1.2.
    bool found = false;
    for (int packet = 0; packet < 20 && !found; ++packet) {
        pollfd ready{tun.get(), POLLIN, 0};
        if (poll(&ready, 1, 2000) != 1) break;
        std::array<unsigned char, 2048> bytes{};
        auto size = read(tun.get(), bytes.data(), bytes.size());
        if (size < static_cast<ssize_t>(sizeof(iphdr) + sizeof(udphdr)) || (bytes[0] >> 4) != 4) continue;
        iphdr header{};
        std::memcpy(&header, bytes.data(), sizeof header);
        char destination[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &header.daddr, destination, sizeof destination);
        auto payload = std::string(reinterpret_cast<char*>(bytes.data()) + header.ihl * 4 + sizeof(udphdr),
                                   static_cast<std::size_t>(size) - header.ihl * 4 - sizeof(udphdr));
        found = header.protocol == IPPROTO_UDP && std::string(destination) == "10.9.1.2" && payload == "netd";
    }
    EXPECT_TRUE(found) << "the datagram to 10.9.1.2 never came out of app0";
}

TEST_F(TunDaemonTest, OptionsReachTheKernelAndSurviveARestart) {
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post("/tun", R"({"name":"big0","mtu":9000,"prefix_len":28,"multi_queue":true})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json(), nlohmann::json::parse(R"({"name":"big0","owner":0,"ip_addr":"10.0.0.1","netmask":"255.255.255.240",
        "broadcast":"10.0.0.15","prefix_len":28,"mtu":9000,"ipv6":false,"multi_queue":true,"routes":[]})"));
    expect_kernel_matches(created.json());
    auto small = client.post("/tun", R"({"mtu":1280})");
    ASSERT_EQ(small.status, 201) << small.body;
    EXPECT_EQ(small.json()["ip_addr"], "10.0.1.1") << "the /24 after the /28's block";
    expect_kernel_matches(small.json());
    EXPECT_EQ(client.post("/tun", R"({"mtu":67})").status, 400);
    EXPECT_EQ(client.post("/tun", R"({"prefix_len":31})").status, 400);

    // kill -9: adopted as the kernel has them.
    auto before = client.get("/tun").json();
    daemon->stop(SIGKILL);
    daemon = start();
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").json(), before);
}

TEST_F(TunDaemonTest, GivenAddressExtraAddressesAndRoutes) {
    sh("ip route add 10.99.0.0/16 dev lo");
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post("/tun", R"({"name":"site0","address":"172.16.0.9/16",
        "extra_addresses":["192.168.7.1/24"],"routes":["10.200.0.0/16","10.201.1.0/24"]})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json(), nlohmann::json::parse(R"({"name":"site0","owner":0,"ip_addr":"172.16.0.9","netmask":"255.255.0.0",
        "broadcast":"172.16.255.255","prefix_len":16,"mtu":1500,"ipv6":false,"extra_addresses":["192.168.7.1/24"],
        "routes":["10.200.0.0/16","10.201.1.0/24"]})"));
    expect_kernel_matches(created.json());

    auto conflict = client.post("/tun", R"({"routes":["10.99.3.0/24"]})");
    EXPECT_EQ(conflict.status, 409);
    EXPECT_NE(conflict.body.find("overlaps the route 10.99.0.0/16 on lo"), std::string::npos) << conflict.body;
    EXPECT_EQ(client.post("/tun", R"({"address":"192.168.7.200/24"})").status, 409);
    EXPECT_EQ(ip_json("link show type tun").size(), 1u) << "a refused request left a TUN behind";

    // Adopted after kill -9 as the kernel has it.
    daemon->stop(SIGKILL);
    daemon = start();
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun/site0").json(), created.json());
}

// The IPv6 pool is drawn once for the host and kept in the state directory;
// each TUN asked for with "ipv6" gets the next /64 of it.
TEST_F(TunDaemonTest, Ipv6TunsGetA64OfTheHostsPool) {
    auto state = ::testing::TempDir() + "netd-pool6-" + std::to_string(getpid());
    std::filesystem::remove_all(state);
    std::vector<std::string> args{"--state-dir", state};
    auto daemon = start(args);
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post(
        "/tun", R"({"name":"six0","ipv6":true,"extra_addresses":["FD99::1/64"],"routes":["fd98::/48","10.98.0.0/16"]})");
    ASSERT_EQ(created.status, 201) << created.body;
    expect_kernel_matches(created.json());
    EXPECT_EQ(created.json()["extra_addresses"], nlohmann::json::array({"fd99::1/64"})) << "not in RFC 5952 form";

    std::ifstream saved(state + "/pool6");
    std::string text;
    ASSERT_TRUE(std::getline(saved, text)) << "no pool6 in the state directory";
    auto pool = net::Cidr::parse(text);
    EXPECT_EQ(pool.prefix_len(), 48);
    EXPECT_TRUE(net::Cidr::parse("fd00::/8").contains(pool)) << text << " is not a unique local prefix";
    auto first = net::Cidr(pool.network(), 64);
    EXPECT_EQ(created.json()["prefix6"], first.to_string());
    EXPECT_EQ(created.json()["ip6_addr"], net::InterfaceAddress::first_host_of(first).address().to_string());
    EXPECT_EQ(client.post("/tun", R"({"ipv6":true,"mtu":1279})").status, 400);

    // After kill -9 the pool is the same, six0 is adopted as it is, and the
    // next /64 follows the first.
    daemon->stop(SIGKILL);
    daemon = start(args);
    HttpClient again("127.0.0.1", tun_port);
    EXPECT_EQ(again.get("/tun/six0").json(), created.json());
    auto next = again.post("/tun", R"({"ipv6":true})");
    ASSERT_EQ(next.status, 201) << next.body;
    auto second = net::Cidr(net::IpAddress(net::Family::v6, pool.network().value() + (net::Uint128{1} << 64)), 64);
    EXPECT_EQ(next.json()["prefix6"], second.to_string());
    expect_kernel_matches(next.json());
    std::filesystem::remove_all(state);
}

TEST_F(TunDaemonTest, GivenIpv6PoolSkipsWhatTheHostHolds) {
    sh("ip -6 route add fd00:77::/64 dev lo");
    auto daemon = start({"--pool6", "fd00:77::/48"});
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post("/tun", R"({"ipv6":true})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json()["prefix6"], "fd00:77:0:1::/64");
    expect_kernel_matches(created.json());
    auto conflict = client.post("/tun", R"({"routes":["fd00:77::/56"]})");
    EXPECT_EQ(conflict.status, 409);
    EXPECT_NE(conflict.body.find("overlaps the route fd00:77::/64 on lo"), std::string::npos) << conflict.body;

    auto refused = run_to_exit(NETD_TUN_DAEMON, {"--pool6", "10.0.0.0/8", "--listen", "127.0.0.1:3099", "--log-dir",
                                                 daemon->log_dir(), "--state-dir", daemon->log_dir() + "/refused"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.stderr_text.find("--pool6 10.0.0.0/8 is not IPv6"), std::string::npos) << refused.stderr_text;
}

TEST_F(TunDaemonTest, InterfacesOutliveTheDaemonAndAreAdoptedAgain) {
    auto daemon = start();
    nlohmann::json first;
    {
        HttpClient client("127.0.0.1", tun_port);
        first = client.post("/tun", "{}").json();
    }
    EXPECT_EQ(daemon->stop(SIGTERM), 0);
    ASSERT_TRUE(link("tun0")) << "the TUN died with the daemon";

    daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    EXPECT_EQ(client.get("/tun").json(), nlohmann::json::array({first}));
    EXPECT_EQ(client.post("/tun", "{}").json()["ip_addr"], "10.0.1.1");
}

TEST_F(TunDaemonTest, AllocationSkipsRangesTheHostUses) {
    sh("ip addr add 10.0.0.7/24 dev lo");
    sh("ip route add 10.0.1.0/24 dev lo");
    // Default-like routes (a VPN's 0/1 and 128/1) must not block the pool.
    sh("ip route add 0.0.0.0/1 dev lo");
    sh("ip route add 128.0.0.0/1 dev lo");
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post("/tun", "{}");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json()["ip_addr"], "10.0.2.1");
}

TEST_F(TunDaemonTest, NeverTouchesForeignInterfaces) {
    sh("ip tuntap add dev foreign0 mode tun");
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    EXPECT_EQ(client.get("/tun").json(), nlohmann::json::array());
    EXPECT_EQ(client.get("/tun/foreign0").status, 404);
    EXPECT_EQ(client.del("/tun/foreign0").status, 404);
    auto taken = client.post("/tun", R"({"name":"foreign0"})");
    EXPECT_EQ(taken.status, 409) << taken.body;
    EXPECT_EQ(client.del("/tun/lo").status, 404);
    EXPECT_TRUE(link("foreign0"));
    EXPECT_TRUE(ipv4_addresses("foreign0").empty()) << "the daemon configured a foreign TUN";
}

TEST_F(TunDaemonTest, BadRequestsGetTypedErrors) {
    auto daemon = start();
    HttpClient client("127.0.0.1", tun_port);
    struct Case {
        const char* method;
        const char* target;
        const char* body;
        const char* content_type;
        int status;
        const char* code;
    };
    for (const auto& c : std::vector<Case>{
             {"POST", "/tun", "{}", "", 415, "unsupported_media_type"},
             {"POST", "/tun", "{}", "text/plain", 415, "unsupported_media_type"},
             {"POST", "/tun", "{\"name\":", "application/json", 400, "invalid"},
             {"POST", "/tun", "[]", "application/json", 400, "invalid"},
             {"POST", "/tun", "{\"name\":7}", "application/json", 400, "invalid"},
             {"POST", "/tun", "{\"nmae\":\"x\"}", "application/json", 400, "invalid"},
             {"POST", "/tun", "{\"name\":\"a/b\"}", "application/json", 400, "invalid"},
             {"POST", "/tun", "{\"name\":\"..\"}", "application/json", 400, "invalid"},
             {"POST", "/tun", "{\"name\":\"a b\"}", "application/json", 400, "invalid"},
             {"POST", "/tun", "{\"name\":\"sixteen-chars-xx\"}", "application/json", 400, "invalid"},
             {"PUT", "/tun", "", "", 405, "method_not_allowed"},
             {"GET", "/nowhere", "", "", 404, "not_found"},
         }) {
        auto reply = client.request(c.method, c.target, c.body, c.content_type);
        EXPECT_EQ(reply.status, c.status) << c.method << " " << c.target << " " << c.body << ": " << reply.body;
        EXPECT_EQ(reply.json()["error"]["code"], c.code) << reply.body;
        EXPECT_EQ(reply.content_type, "application/json");
    }
    EXPECT_EQ(client.request("PUT", "/tun", "", "").allow, "POST, GET");
    EXPECT_TRUE(ip_json("link show type tun").empty()) << "a rejected request left a TUN behind";
}

TEST_F(TunDaemonTest, LogsSplitByLevel) {
    auto daemon = start();
    {
        HttpClient client("127.0.0.1", tun_port);
        client.post("/tun", "{}");
        client.get("/tun");
    }
    {
        // Over the body limit: answered 413 and logged at WARN.
        HttpClient client("127.0.0.1", tun_port);
        EXPECT_EQ(client.post("/tun", std::string(70 * 1024, ' ')).status, 413);
    }
    EXPECT_EQ(daemon->stop(SIGTERM), 0);

    auto [log, err] = daemon->expect_log_split("tun_daemon");
    EXPECT_NE(log.find("POST /tun 201"), std::string::npos) << log;
    EXPECT_NE(log.find("GET /tun 200"), std::string::npos) << log;
    EXPECT_NE(err.find("over 65536 bytes"), std::string::npos) << err;
}

// INFO lines are buffered, and flushed within a second or so: `tail -f`
// must not wait for the daemon to stop.
TEST_F(TunDaemonTest, InfoLinesReachTheLogWhileItRuns) {
    auto daemon = start();
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").status, 200);
    auto logged = [&] {
        for (const auto& line : daemon->log_lines("tun_daemon.log")) {
            if (line.find("GET /tun 200") != std::string::npos) return true;
        }
        return false;
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!logged() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(logged()) << "GET /tun is not in tun_daemon.log after 5 s";
}

TEST_F(TunDaemonTest, PortInUseIsAClearFailure) {
    auto daemon = start();
    auto second = run_to_exit(NETD_TUN_DAEMON, {"--listen", "127.0.0.1:3030", "--log-dir", daemon->log_dir()});
    EXPECT_EQ(second.exit_code, 1);
    EXPECT_NE(second.stderr_text.find("cannot listen on 127.0.0.1:3030"), std::string::npos) << second.stderr_text;
}

TEST_F(TunDaemonTest, BadFlagsAreRejected) {
    auto dir = ::testing::TempDir();
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--pool", "10.0.0.1/8", "--log-dir", dir},
             {"--pool", "10.0.0.0/25", "--log-dir", dir},
             {"--listen", "localhost", "--log-dir", dir},
             {"--log-level", "loud", "--log-dir", dir},
         }) {
        auto run = run_to_exit(NETD_TUN_DAEMON, args);
        EXPECT_NE(run.exit_code, 0) << args[1];
        EXPECT_FALSE(run.stderr_text.empty()) << args[1];
    }
}

} // namespace
} // namespace netd::testing

namespace netd::testing {
namespace {

std::string output_of(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    pclose(pipe);
    return out;
}

TEST_F(TunDaemonTest, ServesTheSameApiOnAUnixSocket) {
    if (std::system("curl --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not installed";
    auto socket = ::testing::TempDir() + "netd-tun-" + std::to_string(getpid()) + ".sock";
    auto daemon = start({"--unix-socket", socket, "--unix-socket-group", "nogroup"});
    struct stat info {};
    ASSERT_EQ(stat(socket.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0660u);
    EXPECT_EQ(info.st_gid, 65534u) << "the socket is not in the group asked for";

    auto curl = "curl -s --unix-socket " + socket + " ";
    auto created = output_of(curl + "-X POST -H 'Content-Type: application/json' -d '{}' http://localhost/tun");
    EXPECT_EQ(nlohmann::json::parse(created)["ip_addr"], "10.0.0.1") << created;
    EXPECT_EQ(nlohmann::json::parse(output_of(curl + "http://localhost/tun")).size(), 1u);
    // The browser defence still holds; the Host check has nothing to defend here.
    EXPECT_NE(output_of(curl + "-H 'Origin: http://evil.example' http://localhost/tun").find("forbidden"),
              std::string::npos);

    daemon->stop(SIGTERM);
    auto [log, err] = daemon->expect_log_split("tun_daemon");
    EXPECT_NE(log.find("POST /tun from uid 0 pid "), std::string::npos) << "the peer of a change is not logged\n"
                                                                          << log;
}

} // namespace
} // namespace netd::testing
