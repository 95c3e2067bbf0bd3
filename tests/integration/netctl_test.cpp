// netctl driven end to end against the real daemons: its tables, --json,
// the Unix socket and token, and every exit code.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "kernel_view.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

struct Run {
    int exit_code;
    std::string output; // stdout and stderr
};

Run netctl(const std::string& args) {
    std::string output;
    auto* pipe = ::popen((std::string(NETD_NETCTL) + " " + args + " 2>&1").c_str(), "r");
    char buffer[4096];
    for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, got);
    int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

class NetctlTest : public NetnsTest {};

TEST_F(NetctlTest, DrivesBothDaemonsWithDistinctExitCodes) {
    auto tuns = start_tun_daemon();
    auto subnets = start_subnet_daemon();

    auto created = netctl("tun create --name vpn0 --mtu 9000");
    EXPECT_EQ(created.exit_code, 0) << created.output;
    EXPECT_NE(created.output.find("vpn0  10.0.0.1  255.255.255.0  10.0.0.255  9000"), std::string::npos)
        << created.output;
    ASSERT_TRUE(link("vpn0"));
    EXPECT_EQ((*link("vpn0"))["mtu"], 9000);

    auto shown = netctl("--json tun show vpn0");
    EXPECT_EQ(shown.exit_code, 0);
    EXPECT_EQ(nlohmann::json::parse(shown.output)["ip_addr"], "10.0.0.1") << shown.output;
    EXPECT_EQ(netctl("tun list").output.find("vpn0") != std::string::npos, true);
    // Global flags go before or after the subcommand alike.
    for (const auto* args : {"tun list --json", "tun --json list", "--tun 127.0.0.1:3030 tun show vpn0 --json",
                             "tun show --tun 127.0.0.1:3030 vpn0 --json"}) {
        auto listed = netctl(args);
        EXPECT_EQ(listed.exit_code, 0) << args << ": " << listed.output;
        auto answer = nlohmann::json::parse(listed.output, nullptr, false);
        auto first = answer.is_array() && !answer.empty() ? answer[0] : answer;
        EXPECT_TRUE(first.is_object() && first.value("name", "") == "vpn0") << args << ": " << listed.output;
    }

    auto missing = netctl("tun show nope");
    EXPECT_EQ(missing.exit_code, 3) << missing.output;
    EXPECT_NE(missing.output.find("tun-daemon at 127.0.0.1:3030 answered 404"), std::string::npos) << missing.output;
    EXPECT_EQ(netctl("tun create --name vpn0").exit_code, 4);
    EXPECT_EQ(netctl("tun create --mtu 5").exit_code, 2);
    EXPECT_EQ(netctl("tun").exit_code, 2) << "a missing subcommand is a usage error";
    EXPECT_EQ(netctl("subnet add 10.1.0.0/24 --auto").exit_code, 2) << "CIDR and --auto together";

    auto added = netctl("subnet add 10.1.0.0/24");
    EXPECT_EQ(added.exit_code, 0) << added.output;
    EXPECT_NE(added.output.find("10.1.0.0/24  lo:0       10.1.0.1"), std::string::npos) << added.output;
    EXPECT_EQ(netctl("subnet add 10.1.0.0/25").exit_code, 4);
    auto automatic = netctl("--json subnet add --auto --prefix-len 26");
    EXPECT_EQ(automatic.exit_code, 0) << automatic.output;
    EXPECT_EQ(nlohmann::json::parse(automatic.output)["network"], "10.0.1.0/26");
    EXPECT_EQ(netctl("subnet delete 10.1.0.0/24").exit_code, 0);
    EXPECT_TRUE(ipv4_addresses("lo").dump().find("10.1.0.1") == std::string::npos);
    EXPECT_EQ(netctl("subnet delete 10.1.0.0/24").exit_code, 3);

    auto status = netctl("status");
    EXPECT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find("subnet-daemon  127.0.0.1:3031  ok"), std::string::npos) << status.output;

    EXPECT_EQ(netctl("tun delete vpn0").exit_code, 0);
    EXPECT_FALSE(link("vpn0"));

    auto six = netctl("--json tun create --name six0 --ipv6");
    ASSERT_EQ(six.exit_code, 0) << six.output;
    auto ip6 = nlohmann::json::parse(six.output)["ip6_addr"].get<std::string>();
    EXPECT_NE(ipv6_addresses("six0").dump().find("\"" + ip6 + "\""), std::string::npos) << ip6;
    EXPECT_NE(netctl("tun list").output.find(ip6), std::string::npos) << "the table has no IPv6 column";
    EXPECT_EQ(netctl("tun create --ipv6 --mtu 1279").exit_code, 2);
    auto added6 = netctl("subnet add fd12:3456:789a:1::/64");
    EXPECT_EQ(added6.exit_code, 0) << added6.output;
    EXPECT_NE(ipv6_addresses("lo").dump().find("fd12:3456:789a:1::1"), std::string::npos);
    EXPECT_EQ(netctl("subnet add fd12:3456:789a::/48").exit_code, 4);
    EXPECT_EQ(netctl("subnet delete fd12:3456:789a:1::/64").exit_code, 0);
    EXPECT_EQ(ipv6_addresses("lo").dump().find("fd12:3456:789a:1::1"), std::string::npos);

    subnets->stop(SIGTERM);
    auto down = netctl("status");
    EXPECT_EQ(down.exit_code, 5) << down.output;
    EXPECT_NE(down.output.find("cannot reach subnet-daemon at 127.0.0.1:3031"), std::string::npos) << down.output;
    EXPECT_NE(down.output.find("unreachable"), std::string::npos) << down.output;
}

TEST_F(NetctlTest, UnixSocketAndToken) {
    auto dir = ::testing::TempDir() + "netctl-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/token") << "s3cret\n";
    std::filesystem::permissions(dir + "/token", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto tuns = start_tun_daemon({"--unix-socket", dir + "/tun.sock", "--token-file", dir + "/token"});

    EXPECT_EQ(netctl("tun list").exit_code, 1) << "no token: 401 is neither of the named failures";
    auto with_file = netctl("--token-file " + dir + "/token --tun-socket " + dir + "/tun.sock tun create");
    EXPECT_EQ(with_file.exit_code, 0) << with_file.output;
    ::setenv("NETD_TOKEN", "s3cret", 1);
    auto listed = netctl("--tun-socket " + dir + "/tun.sock tun list");
    ::unsetenv("NETD_TOKEN");
    EXPECT_EQ(listed.exit_code, 0) << listed.output;
    EXPECT_NE(listed.output.find("tun0"), std::string::npos) << listed.output;
    std::filesystem::remove_all(dir);
}

TEST_F(NetctlTest, ASquatterOnTheDaemonsPortGetsNothing) {
    if (std::system("setpriv --version >/dev/null 2>&1 && /usr/bin/python3 --version >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "setpriv (util-linux) and python3 are needed to play the squatter";
    }
    // While tun-daemon is down, another user binds its port and records
    // what netctl would send it.
    auto dir = ::testing::TempDir() + "netd-squatter-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::all);
    // On 127.0.0.1, then on [::] open to both families (the connection's
    // socket there is IPv6, holding ::ffff:127.0.0.1).
    const char* server = R"(import http.server, socket, sys
class Squatter(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(sys.argv[1], "a").write(str(self.headers.get("Authorization")) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")
    def log_message(self, *args):
        pass
class DualStack(http.server.HTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
if sys.argv[2] == "dual":
    DualStack(("::", 3030), Squatter).serve_forever()
else:
    http.server.HTTPServer(("127.0.0.1", 3030), Squatter).serve_forever()
)";
    std::ofstream(dir + "/squatter.py") << server;
    for (std::string kind : {"v4", "dual"}) {
        SCOPED_TRACE(kind);
        auto heard = dir + "/heard-" + kind;
        ASSERT_EQ(std::system(("setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 " + dir +
                               "/squatter.py " + heard + " " + kind + " & echo $! >" + dir + "/pid")
                                  .c_str()),
                  0);
        for (int i = 0; i < 300 && !port_open("127.0.0.1", tun_port); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ASSERT_TRUE(port_open("127.0.0.1", tun_port));

        ::setenv("NETD_TOKEN", "s3cret", 1); // what the squatter is after
        auto run = netctl("tun list --json");
        ::unsetenv("NETD_TOKEN");
        std::string pid;
        std::getline(std::ifstream(dir + "/pid"), pid);
        std::system(("kill " + pid + "; while kill -0 " + pid + " 2>/dev/null; do sleep 0.01; done").c_str());
        EXPECT_EQ(run.exit_code, 1) << run.output;
        EXPECT_NE(run.output.find("refusing to talk to tun-daemon at 127.0.0.1:3030: it is served by uid 65534"),
                  std::string::npos)
            << run.output;
        EXPECT_FALSE(std::filesystem::exists(heard)) << "netctl sent the squatter a request";
    }
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace netd::testing
