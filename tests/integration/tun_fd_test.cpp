// tun-daemon's fd socket end to end: an unprivileged owner gets its TUN's
// descriptor through netctl tun exec and reads a datagram the host routes
// into the TUN; another uid is refused, and the daemon logs it at WARN.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "netns.hpp"
#include "unique_fd.hpp"

namespace netd::testing {
namespace {

// Reads packets from fd 3 for 10 s at most and prints the first UDP
// payload with the name and descriptor it was given.
constexpr const char* reader = R"(
import os, select, sys, time
fd, name = int(os.environ["NETD_TUN_FD"]), os.environ["NETD_TUN_NAME"]
end = time.monotonic() + 10
while time.monotonic() < end:
    if not select.select([fd], [], [], max(0, end - time.monotonic()))[0]:
        break
    packet = os.read(fd, 65535)
    if len(packet) >= 28 and packet[0] >> 4 == 4 and packet[9] == 17:
        print(name, fd, packet[(packet[0] & 15) * 4 + 8:].decode(), flush=True)
        sys.exit(0)
sys.exit(1)
)";

class TunFdTest : public NetnsTest {};

// Runs `argv` as `uid` (no groups) with stdout and stderr in `output`.
pid_t run_as(unsigned uid, const std::vector<std::string>& command, const std::string& output) {
    std::vector<std::string> args{"setpriv", "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(uid),
                                  "--clear-groups"};
    args.insert(args.end(), command.begin(), command.end());
    pid_t pid = ::fork();
    if (pid == 0) {
        int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST_F(TunFdTest, TheOwnerReadsItsTunThroughNetctlAndOthersAreRefused) {
    // The socket's directory must let the users through, as /run/netd does.
    auto dir = ::testing::TempDir() + "netd-fd-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
    auto socket_path = dir + "/tun-fd.sock";
    DaemonProcess daemon(NETD_TUN_DAEMON, tun_port, {"--fd-socket", socket_path});
    HttpClient client("127.0.0.1", tun_port);
    auto created = client.post("/tun", R"({"name":"fdtun0","owner":"65534","address":"10.77.0.1/24"})");
    ASSERT_EQ(created.status, 201) << created.body;
    struct stat status {};
    ASSERT_EQ(::stat(socket_path.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0666u);

    auto out = dir + "/owner.out";
    auto pid = run_as(65534, {NETD_NETCTL, "tun", "exec", "fdtun0", "--fd-socket", socket_path, "--",
                              "/usr/bin/python3", "-c", reader},
                      out);
    // The host routes a datagram to the TUN's /24 (not its own address,
    // which stays local); sent until the reader has it or gives up, since
    // the TUN has no carrier until netctl's program holds it.
    platform::UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9999);
    ::inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
    const std::string payload = "netd-fd-handover";
    int exit_status = -1;
    for (int i = 0; i < 240; ++i) {
        ::sendto(udp.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        if (::waitpid(pid, &exit_status, WNOHANG) == pid) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!WIFEXITED(exit_status)) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &exit_status, 0);
        FAIL() << "netctl tun exec did not end within 12 s: " << read_file(out);
    }
    EXPECT_EQ(WEXITSTATUS(exit_status), 0) << read_file(out);
    EXPECT_EQ(read_file(out), "fdtun0 3 " + payload + "\n");

    // Another uid, and a TUN that is not there.
    auto refused = run_as(65533, {NETD_NETCTL, "tun", "exec", "fdtun0", "--fd-socket", socket_path, "--", "/bin/true"},
                          dir + "/other.out");
    ::waitpid(refused, &exit_status, 0);
    EXPECT_EQ(WEXITSTATUS(exit_status), 1);
    EXPECT_EQ(read_file(dir + "/other.out"),
              "netctl: tun-daemon at " + socket_path +
                  " refused fdtun0: uid 65533 may not have fdtun0's descriptor: only root, uid 65534 may\n");
    auto missing = run_as(65534, {NETD_NETCTL, "tun", "exec", "nope0", "--fd-socket", socket_path, "--", "/bin/true"},
                          dir + "/missing.out");
    ::waitpid(missing, &exit_status, 0);
    EXPECT_EQ(WEXITSTATUS(exit_status), 3) << read_file(dir + "/missing.out");

    auto [log, err] = daemon.expect_log_split("tun_daemon");
    EXPECT_NE(err.find("[warning] fd socket: refused uid 65533 pid"), std::string::npos) << err;
    EXPECT_NE(log.find("handed fdtun0's descriptor to uid 65534 pid"), std::string::npos) << log;
    daemon.stop();
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace netd::testing
