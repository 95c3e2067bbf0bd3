// SIGTERM ends a daemon cleanly, answering the requests already sent but
// not waiting on idle clients; SIGHUP reopens its logs for logrotate.

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <chrono>
#include <filesystem>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
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

// What came back on a connection until the server closed it: the status,
// or 0 when no whole response arrived (none, or a body cut short).
int complete_status(boost::asio::ip::tcp::socket& socket, std::string& name) {
    std::string reply;
    boost::system::error_code ec;
    boost::asio::read(socket, boost::asio::dynamic_buffer(reply), ec);
    auto end_of_headers = reply.find("\r\n\r\n");
    if (reply.rfind("HTTP/1.1 ", 0) != 0 || end_of_headers == std::string::npos) return 0;
    auto length_at = reply.find("Content-Length: ");
    if (length_at == std::string::npos || length_at > end_of_headers) return 0;
    auto body = reply.substr(end_of_headers + 4);
    if (body.size() != std::stoul(reply.substr(length_at + 16))) return 0;
    auto answer = nlohmann::json::parse(body, nullptr, false);
    if (answer.is_object()) name = answer.value("name", "");
    return std::stoi(reply.substr(9, 3));
}

TEST_F(SignalsTest, TermAnswersEveryRequestAlreadySent) {
    DaemonProcess daemon(NETD_TUN_DAEMON, 3030);
    boost::asio::io_context io;
    std::vector<boost::asio::ip::tcp::socket> connections;
    const std::string create =
        "POST /tun HTTP/1.1\r\nHost: 127.0.0.1:3030\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n{}";
    for (int i = 0; i < 50; ++i) {
        auto& connection = connections.emplace_back(io);
        connection.connect({boost::asio::ip::make_address("127.0.0.1"), 3030});
        boost::asio::write(connection, boost::asio::buffer(create));
    }
    ASSERT_EQ(kill(daemon.pid(), SIGTERM), 0);
    std::set<std::string> created;
    int answered = 0;
    for (auto& connection : connections) {
        std::string name;
        int status = complete_status(connection, name);
        EXPECT_EQ(status, 201) << "request " << answered;
        if (status == 201) created.insert(name);
        ++answered;
    }
    EXPECT_EQ(created.size(), 50u) << "every request was answered, each with a TUN of its own";
    EXPECT_EQ(daemon.stop(SIGTERM), 0);
    for (const auto& name : created) EXPECT_TRUE(link(name)) << name << " was answered 201 but is not in the kernel";
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
