// The daemons keep only CAP_NET_ADMIN once they serve, and refuse plainly to
// start without it.

#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class PrivilegesTest : public NetnsTest {};

std::string status_line(const std::string& process, const std::string& key) {
    std::ifstream status("/proc/" + process + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(key, 0) == 0) return line.substr(key.size());
    }
    return "";
}

TEST_F(PrivilegesTest, KeepsOnlyNetAdminAndStillWorks) {
    for (const auto* binary : {NETD_TUN_DAEMON, NETD_SUBNET_DAEMON}) {
        DaemonProcess daemon(binary, 3030);
        // Bit 12 is CAP_NET_ADMIN, in the effective, permitted and bounding sets.
        // The daemon drops the rest once it listens, a moment after the port
        // opens: wait for that moment (2 s at most) rather than race it.
        auto pid = std::to_string(daemon.pid());
        for (int i = 0; i < 200 && status_line(pid, "CapEff:\t") != "0000000000001000"; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_EQ(status_line(pid, "CapEff:\t"), "0000000000001000") << binary;
        EXPECT_EQ(status_line(pid, "CapPrm:\t"), "0000000000001000") << binary;
        EXPECT_EQ(status_line(pid, "CapBnd:\t"), "0000000000001000") << binary;
        HttpClient client("127.0.0.1", 3030);
        auto created = std::string(binary) == NETD_TUN_DAEMON ? client.post("/tun", "{}")
                                                               : client.post("/subnet", "{}");
        EXPECT_EQ(created.status, 201) << created.body;
        // Capabilities belong to threads: the journal's sync thread, started
        // before the drop, must have given up all of its own.
#if defined(__SANITIZE_THREAD__)
        // ThreadSanitizer's runtime starts a thread of its own before main(),
        // which keeps what the process started with: the per-thread count
        // means nothing here, and the plain and ASan builds check it.
        daemon.stop(SIGTERM);
        GTEST_SKIP() << "under ThreadSanitizer, whose own thread keeps the capabilities the daemon started with";
#endif
        int threads = 0;
        for (const auto& task : std::filesystem::directory_iterator("/proc/" + pid + "/task")) {
            auto thread = pid + "/task/" + task.path().filename().string();
            auto expected = task.path().filename().string() == pid ? "0000000000001000" : "0000000000000000";
            EXPECT_EQ(status_line(thread, "CapEff:\t"), expected) << binary << " thread " << thread;
            EXPECT_EQ(status_line(thread, "CapPrm:\t"), expected) << binary << " thread " << thread;
            ++threads;
        }
        EXPECT_EQ(threads, 2) << binary << ": the server and the journal's sync thread";
        daemon.stop(SIGTERM);
        auto [log, err] = daemon.expect_log_split(std::string(binary) == NETD_TUN_DAEMON ? "tun_daemon"
                                                                                          : "subnet_daemon");
        EXPECT_NE(log.find("capabilities kept: net_admin"), std::string::npos) << log;
    }
}

// As the systemd unit runs it: CAP_NET_ADMIN alone in every set, and no way
// to gain more.
TEST_F(PrivilegesTest, WorksUnderTheUnitsCapabilitySandbox) {
    if (std::system("setpriv --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "setpriv (util-linux) is not installed";
    DaemonProcess daemon(NETD_TUN_DAEMON, 3030, {},
                         {"/usr/bin/setpriv", "--bounding-set=-all,+net_admin", "--inh-caps=-all,+net_admin",
                          "--ambient-caps=+net_admin", "--no-new-privs"});
    HttpClient client("127.0.0.1", 3030);
    auto created = client.post("/tun", "{}");
    EXPECT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(client.del("/tun/tun0").status, 204);
    EXPECT_EQ(daemon.stop(SIGTERM), 0);
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

namespace netd::testing {
namespace {

// Attaches to the TUN `name` as `uid` in a child process; 0 on success, else
// the errno of the failure. `device` is a /dev/net/tun node anyone may open,
// so that only the TUN's own owner check decides.
int attach_as(uid_t uid, const std::string& device, const std::string& name) {
    pid_t child = fork();
    if (child == 0) {
        if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(uid, uid, uid) != 0) {
            _exit(100);
        }
        int fd = open(device.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) _exit(101);
        ifreq request{};
        request.ifr_flags = IFF_TUN | IFF_NO_PI;
        std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
        _exit(ioctl(fd, TUNSETIFF, &request) == 0 ? 0 : errno);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(PrivilegesTest, OwnerMayAttachAndOthersMayNot) {
    auto device = ::testing::TempDir() + "netd-tun-node";
    unlink(device.c_str());
    if (mknod(device.c_str(), S_IFCHR | 0666, makedev(10, 200)) != 0 || chmod(device.c_str(), 0666) != 0) {
        GTEST_SKIP() << "cannot make a /dev/net/tun node in " << ::testing::TempDir() << ": " << std::strerror(errno);
    }
    DaemonProcess daemon(NETD_TUN_DAEMON, 3030);
    HttpClient client("127.0.0.1", 3030);
    auto created = client.post("/tun", R"({"name":"user0","owner":"nobody"})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json()["owner"], 65534);
    EXPECT_EQ(client.get("/tun/user0").json()["owner"], 65534) << "the owner is not read back from the kernel";
    auto by_group = client.post("/tun", R"({"name":"group0","group":65534})");
    ASSERT_EQ(by_group.status, 201) << by_group.body;
    EXPECT_EQ(by_group.json()["group"], 65534);

    EXPECT_EQ(attach_as(65534, device, "user0"), 0) << "the owner could not attach";
    EXPECT_EQ(attach_as(65533, device, "user0"), EPERM) << "another user could attach";

    EXPECT_EQ(client.post("/tun", R"({"owner":"no-such-user-here"})").status, 400);
    EXPECT_EQ(client.post("/tun", R"({"owner":-1})").status, 400);
    EXPECT_EQ(client.post("/tun", R"({"owner":true})").status, 400);
    unlink(device.c_str());
}

} // namespace
} // namespace netd::testing
