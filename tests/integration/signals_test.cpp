// SIGTERM ends a daemon cleanly without waiting on idle clients; SIGHUP
// reopens its logs for logrotate.

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class SignalsTest : public NetnsTest {};

TEST_F(SignalsTest, TermExitsCleanlyDespiteIdleConnectionsAndKeepsInterfaces) {
    DaemonProcess daemon(NETD_TUN_DAEMON, 3030);
    HttpClient idle("127.0.0.1", 3030);
    ASSERT_EQ(idle.post("/tun", "{}").status, 201);
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(daemon.stop(SIGTERM), 0);
    // The drain bound is 5 s; an idle keep-alive connection must not use it up.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
    EXPECT_TRUE(link("tun0"));
    EXPECT_THROW(idle.get("/tun"), std::exception) << "the idle connection was left open";
}

TEST_F(SignalsTest, HangupReopensTheLogs) {
    DaemonProcess daemon(NETD_TUN_DAEMON, 3030);
    HttpClient client("127.0.0.1", 3030);
    client.get("/tun");
    auto log = daemon.log_dir() + "/tun_daemon.log";
    std::filesystem::rename(log, log + ".1"); // what logrotate does
    kill(daemon.pid(), SIGHUP);
    // The reopen is logged to the new file; poll for it rather than sleep.
    for (int i = 0; i < 100 && !std::filesystem::exists(log); ++i) {
        client.get("/healthz");
    }
    client.get("/tun/none");
    EXPECT_EQ(daemon.stop(SIGTERM), 0);
    auto [fresh, err] = daemon.expect_log_split("tun_daemon");
    EXPECT_NE(fresh.find("log files reopened"), std::string::npos) << fresh;
    EXPECT_NE(fresh.find("GET /tun/none 404"), std::string::npos) << fresh;
    auto rotated = daemon.log_lines("tun_daemon.log.1");
    EXPECT_TRUE(std::any_of(rotated.begin(), rotated.end(),
                            [](const auto& line) { return line.find("listening on") != std::string::npos; }))
        << "the lines before the rotation are lost";
}

} // namespace
} // namespace netd::testing

namespace netd::testing {
namespace {

// systemd's Type=notify: the daemon says READY=1 on $NOTIFY_SOCKET once it
// listens, and not before.
TEST_F(SignalsTest, TellsTheServiceManagerWhenReady) {
    auto path = ::testing::TempDir() + "netd-notify-" + std::to_string(getpid());
    unlink(path.c_str());
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
    timeval five_seconds{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);

    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    auto daemon = start_tun_daemon();
    unsetenv("NOTIFY_SOCKET");
    char message[64] = {};
    auto received = recv(fd, message, sizeof message - 1, 0);
    EXPECT_EQ(std::string(message, received > 0 ? static_cast<std::size_t>(received) : 0), "READY=1");
    HttpClient client("127.0.0.1", tun_port);
    EXPECT_EQ(client.get("/healthz").status, 200) << "READY=1 came before the daemon could answer";
    close(fd);
    unlink(path.c_str());
}

} // namespace
} // namespace netd::testing
