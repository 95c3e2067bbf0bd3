// The daemons keep only CAP_NET_ADMIN once they serve, and refuse plainly to
// start without it.

#include <signal.h>

#include <fstream>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class PrivilegesTest : public NetnsTest {};

std::string status_line(pid_t pid, const std::string& key) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(key, 0) == 0) return line.substr(key.size());
    }
    return "";
}

TEST_F(PrivilegesTest, KeepsOnlyNetAdminAndStillWorks) {
    for (const auto* binary : {NETD_TUN_DAEMON, NETD_SUBNET_DAEMON}) {
        DaemonProcess daemon(binary, 3030);
        // Bit 12 is CAP_NET_ADMIN, in the effective, permitted and bounding sets.
        EXPECT_EQ(status_line(daemon.pid(), "CapEff:\t"), "0000000000001000") << binary;
        EXPECT_EQ(status_line(daemon.pid(), "CapPrm:\t"), "0000000000001000") << binary;
        EXPECT_EQ(status_line(daemon.pid(), "CapBnd:\t"), "0000000000001000") << binary;
        HttpClient client("127.0.0.1", 3030);
        auto created = std::string(binary) == NETD_TUN_DAEMON ? client.post("/tun", "{}")
                                                               : client.post("/subnet", "{}");
        EXPECT_EQ(created.status, 201) << created.body;
        daemon.stop(SIGTERM);
        auto [log, err] = daemon.expect_log_split(std::string(binary) == NETD_TUN_DAEMON ? "tun_daemon"
                                                                                          : "subnet_daemon");
        EXPECT_NE(log.find("capabilities kept: net_admin"), std::string::npos) << log;
    }
}

TEST_F(PrivilegesTest, WithoutNetAdminItExitsWithOneClearLine) {
    if (std::system("setpriv --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "setpriv (util-linux) is not installed";
    for (const auto* binary : {NETD_TUN_DAEMON, NETD_SUBNET_DAEMON}) {
        auto run = run_to_exit("/usr/bin/setpriv", {"--bounding-set=-net_admin", "--inh-caps=-all", binary,
                                                    "--log-dir", ::testing::TempDir()});
        EXPECT_EQ(run.exit_code, 1) << binary;
        EXPECT_NE(run.stderr_text.find("missing the CAP_NET_ADMIN capability; run it as root (sudo)"),
                  std::string::npos)
            << run.stderr_text;
        EXPECT_EQ(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n'), 1) << run.stderr_text;
    }
}

} // namespace
} // namespace netd::testing
