// The daemons keep only CAP_NET_ADMIN once they serve, and refuse plainly to
// start without it.

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mount.h>
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
        // before the drop, and the log flusher must have given up all of theirs.
#if defined(__SANITIZE_THREAD__)
        // ThreadSanitizer's runtime starts a thread of its own before main(),
        // which keeps what the process started with: the per-thread count
        // means nothing here, and the plain and ASan builds check it.
        daemon.stop(SIGTERM);
        GTEST_SKIP() << "under ThreadSanitizer, whose own thread keeps the capabilities the daemon started with";
#endif
        // The other thread gives up what it kept for a change of user within
        // 20 ms of the drop: wait for that (2 s at most) too.
        auto all_dropped = [&] {
            for (const auto& task : std::filesystem::directory_iterator("/proc/" + pid + "/task")) {
                auto thread = pid + "/task/" + task.path().filename().string();
                auto expected = task.path().filename().string() == pid ? "0000000000001000" : "0000000000000000";
                if (status_line(thread, "CapPrm:\t") != expected) return false;
            }
            return true;
        };
        for (int i = 0; i < 200 && !all_dropped(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        int threads = 0;
        for (const auto& task : std::filesystem::directory_iterator("/proc/" + pid + "/task")) {
            auto thread = pid + "/task/" + task.path().filename().string();
            auto expected = task.path().filename().string() == pid ? "0000000000001000" : "0000000000000000";
            EXPECT_EQ(status_line(thread, "CapEff:\t"), expected) << binary << " thread " << thread;
            EXPECT_EQ(status_line(thread, "CapPrm:\t"), expected) << binary << " thread " << thread;
            ++threads;
        }
        EXPECT_EQ(threads, 3) << binary << ": the server, the journal's sync thread and the log flusher";
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

// The ids of the user netd, as the user database has them; {0, 0} if none.
std::pair<uid_t, gid_t> daemon_user() {
    if (const auto* entry = getpwnam("netd")) return {entry->pw_uid, entry->pw_gid};
    return {0, 0};
}

// Gives this test process (and the daemons it starts) a mount namespace of
// its own, where it may change what the daemons see without touching the
// host: the mounts below are undone when the test's process ends.
bool private_mounts(std::string& why_not) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        why_not = std::string("cannot make a private mount namespace: ") + std::strerror(errno);
        return false;
    }
    return true;
}

// A /dev/net/tun that any user may open, as udev makes it on most
// distributions: in some containers the node is root's alone (0600), and
// tun-daemon then rightly stays root.
bool open_tun_device_to_all(std::string& why_not) {
    auto node = ::testing::TempDir() + "netd-tun-0666";
    ::unlink(node.c_str());
    if (mknod(node.c_str(), S_IFCHR | 0666, makedev(10, 200)) != 0 || chmod(node.c_str(), 0666) != 0 ||
        mount(node.c_str(), "/dev/net/tun", nullptr, MS_BIND, nullptr) != 0) {
        why_not = std::string("cannot bind a 0666 /dev/net/tun: ") + std::strerror(errno);
        return false;
    }
    return true;
}

// /etc/passwd and /etc/group as the host has them, but with (`present`) or
// without a user and group netd (uid and gid 64990), bound over the real
// ones in the private mount namespace, as make install would leave them.
bool user_database_with_netd(bool present, std::string& why_not) {
    for (const auto* file : {"passwd", "group"}) {
        std::ifstream in(std::string("/etc/") + file);
        auto copy = ::testing::TempDir() + "netd-" + file + "-" + std::to_string(::getpid());
        std::ofstream out(copy);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("netd:", 0) != 0) out << line << "\n";
        }
        if (present) {
            out << (std::string(file) == "passwd" ? "netd:x:64990:64990:netd daemons:/nonexistent:/usr/sbin/nologin\n"
                                                  : "netd:x:64990:\n");
        }
        out.close();
        ::chmod(copy.c_str(), 0644);
        if (mount(copy.c_str(), (std::string("/etc/") + file).c_str(), nullptr, MS_BIND, nullptr) != 0) {
            why_not = std::string("cannot bind a copy of /etc/") + file + ": " + std::strerror(errno);
            return false;
        }
    }
    return true;
}

// Started by root, each daemon becomes an unprivileged user with
// CAP_NET_ADMIN alone, no supplementary groups and no_new_privs; what it
// writes from then on (the journal, the logs) is that user's and no one
// else's, and it keeps working across a SIGHUP and a restart.
TEST_F(PrivilegesTest, BecomesAnUnprivilegedUserKeepingOnlyNetAdmin) {
    std::string why_not;
    if (!private_mounts(why_not) || !open_tun_device_to_all(why_not) || !user_database_with_netd(true, why_not)) {
        GTEST_SKIP() << why_not;
    }
    auto [uid, gid] = daemon_user();
    ASSERT_EQ(uid, 64990u) << "the user database in this mount namespace has no netd";
    for (const auto* binary : {NETD_TUN_DAEMON, NETD_SUBNET_DAEMON}) {
        bool tuns = std::string(binary) == NETD_TUN_DAEMON;
        auto state = ::testing::TempDir() + "netd-user-state-" + std::to_string(::getpid()) + (tuns ? "t" : "s");
        std::filesystem::remove_all(state);
        auto ids = std::to_string(uid) + "\t" + std::to_string(uid) + "\t" + std::to_string(uid) + "\t" +
                   std::to_string(uid);
        std::string made;
        {
            DaemonProcess daemon(binary, 3030, {"--state-dir", state});
            auto pid = std::to_string(daemon.pid());
            for (int i = 0; i < 200 && status_line(pid, "Uid:\t") != ids; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            EXPECT_EQ(status_line(pid, "Uid:\t"), ids) << binary;
            auto gids = std::to_string(gid) + "\t" + std::to_string(gid) + "\t" + std::to_string(gid) + "\t" +
                        std::to_string(gid);
            EXPECT_EQ(status_line(pid, "Gid:\t"), gids) << binary;
            auto groups = status_line(pid, "Groups:\t");
            EXPECT_EQ(groups.find_first_not_of(' '), std::string::npos) << binary << " keeps groups " << groups;
            EXPECT_EQ(status_line(pid, "NoNewPrivs:\t"), "1") << binary;
            EXPECT_EQ(status_line(pid, "CapEff:\t"), "0000000000001000") << binary;
            EXPECT_EQ(status_line(pid, "CapBnd:\t"), "0000000000001000") << binary;

            HttpClient client("127.0.0.1", 3030);
            auto created = tuns ? client.post("/tun", "{}") : client.post("/subnet", "{}");
            ASSERT_EQ(created.status, 201) << binary << ": " << created.body;
            made = created.json().value(tuns ? "name" : "network", "");
            // SIGHUP reopens the logs, which are the daemon's user's by now,
            // in a directory it may search (as /var/log is; the harness's
            // is root's alone).
            ASSERT_EQ(chmod(daemon.log_dir().c_str(), 0711), 0);
            ASSERT_EQ(kill(daemon.pid(), SIGHUP), 0);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            EXPECT_EQ(client.get("/healthz").status, 200) << binary;
            EXPECT_EQ(daemon.stop(SIGTERM), 0) << binary;
            auto [log, err] = daemon.expect_log_split(tuns ? "tun_daemon" : "subnet_daemon");
            EXPECT_NE(log.find("SIGHUP received, log files reopened"), std::string::npos) << binary << "\n" << err;
            for (const auto& file : std::filesystem::directory_iterator(state)) {
                struct stat info {};
                ASSERT_EQ(stat(file.path().c_str(), &info), 0);
                EXPECT_EQ(info.st_uid, uid) << file.path();
                EXPECT_EQ(info.st_mode & 077, 0u) << file.path() << " is open to others (umask)";
            }
        }
        // What it wrote as that user, the next start reads back.
        DaemonProcess again(binary, 3030, {"--state-dir", state});
        HttpClient client("127.0.0.1", 3030);
        auto listed = client.get(tuns ? "/tun" : "/subnet");
        ASSERT_EQ(listed.status, 200) << listed.body;
        EXPECT_NE(listed.body.find(made), std::string::npos) << binary << ": " << listed.body;
        EXPECT_EQ(again.stop(SIGTERM), 0);
        std::filesystem::remove_all(state);
    }
}

// Without a user netd (make run on a host never installed), a daemon
// started by root stays root, with CAP_NET_ADMIN alone, and says why; it
// never becomes nobody, whom any other program may run as too.
TEST_F(PrivilegesTest, WithoutTheUserNetdItStaysRootAndSaysSo) {
    std::string why_not;
    if (!private_mounts(why_not) || !user_database_with_netd(false, why_not)) GTEST_SKIP() << why_not;
    DaemonProcess daemon(NETD_SUBNET_DAEMON, 3031);
    auto pid = std::to_string(daemon.pid());
    for (int i = 0; i < 200 && status_line(pid, "CapEff:\t") != "0000000000001000"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(status_line(pid, "Uid:\t"), "0\t0\t0\t0");
    EXPECT_EQ(status_line(pid, "CapEff:\t"), "0000000000001000");
    EXPECT_EQ(status_line(pid, "NoNewPrivs:\t"), "1");
    EXPECT_EQ(HttpClient("127.0.0.1", 3031).post("/subnet", "{}").status, 201);
    daemon.stop(SIGTERM);
    auto [log, err] = daemon.expect_log_split("subnet_daemon");
    EXPECT_NE(err.find("there is no user netd (make install creates it; or useradd --system netd): stays root, "
                       "with CAP_NET_ADMIN alone"),
              std::string::npos)
        << err;
}

// --user names a user that is not there, or root by another name: one
// clear line, before anything.
TEST_F(PrivilegesTest, AMissingUserStopsTheStartWithOneClearLine) {
    auto run = run_to_exit(NETD_TUN_DAEMON, {"--log-dir", ::testing::TempDir(), "--user", "no-such-user-here"});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.stderr_text.find("there is no user no-such-user-here to run as (--user)"), std::string::npos)
        << run.stderr_text;
    std::string why_not;
    if (!private_mounts(why_not)) GTEST_SKIP() << why_not;
    auto passwd = ::testing::TempDir() + "netd-passwd-toor-" + std::to_string(::getpid());
    std::filesystem::copy_file("/etc/passwd", passwd, std::filesystem::copy_options::overwrite_existing);
    std::ofstream(passwd, std::ios::app) << "toor:x:0:0:root by another name:/root:/bin/sh\n";
    ASSERT_EQ(mount(passwd.c_str(), "/etc/passwd", nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
    run = run_to_exit(NETD_TUN_DAEMON, {"--log-dir", ::testing::TempDir(), "--user", "toor"});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.stderr_text.find("--user toor is uid 0"), std::string::npos) << run.stderr_text;
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

    // Asked for with neither owner nor group, a TUN is root's: no user may
    // attach to it and read what the host routes into it.
    auto unowned = client.post("/tun", R"({"name":"root0"})");
    ASSERT_EQ(unowned.status, 201) << unowned.body;
    EXPECT_EQ(unowned.json()["owner"], 0) << unowned.body;
    EXPECT_EQ(attach_as(65534, device, "root0"), EPERM) << "any user could attach to a TUN made for root";

    EXPECT_EQ(client.post("/tun", R"({"owner":"no-such-user-here"})").status, 400);
    EXPECT_EQ(client.post("/tun", R"({"owner":-1})").status, 400);
    EXPECT_EQ(client.post("/tun", R"({"owner":true})").status, 400);
    unlink(device.c_str());
}

} // namespace
} // namespace netd::testing
