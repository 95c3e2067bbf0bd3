// A hostile corpus against the running daemon: each request gets its
// documented 4xx or a closed connection, the daemon keeps answering others
// throughout, and no file descriptor leaks.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

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

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr unsigned short port = tun_port;

// A connection that sends raw bytes and reads whatever comes back, to play
// clients no well-behaved library would.
class RawConnection {
public:
    RawConnection() : socket_(io_) { socket_.connect({asio::ip::make_address("127.0.0.1"), port}); }

    void send(const std::string& bytes) {
        boost::system::error_code ignored;
        asio::write(socket_, asio::buffer(bytes), ignored);
    }

    // Everything the server sends until it closes the connection, or until
    // `limit` passes (then `closed` is false).
    std::string read_until_closed(std::chrono::milliseconds limit, bool& closed) {
        std::string out;
        auto deadline = std::chrono::steady_clock::now() + limit;
        socket_.non_blocking(true);
        closed = false;
        while (std::chrono::steady_clock::now() < deadline) {
            char buffer[4096];
            boost::system::error_code ec;
            auto n = socket_.read_some(asio::buffer(buffer), ec);
            if (ec == asio::error::would_block) {
                std::this_thread::sleep_for(5ms);
                continue;
            }
            if (ec) {
                closed = true;
                break;
            }
            out.append(buffer, n);
        }
        return out;
    }

    std::string status_line(std::chrono::milliseconds limit = 2000ms) {
        bool closed = false;
        auto reply = read_until_closed(limit, closed);
        return reply.substr(0, reply.find("\r\n"));
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
};

std::string request(const std::string& method, const std::string& target, const std::string& headers,
                    const std::string& body) {
    return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:3030\r\nConnection: close\r\n" + headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The daemon's open descriptors, once connections that just ended are closed.
std::size_t open_fds(pid_t pid) {
    std::this_thread::sleep_for(300ms);
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        ++count;
    }
    return count;
}

// The daemon answers a well-formed request, whatever else is going on.
void expect_still_serving() {
    HttpClient client("127.0.0.1", port);
    EXPECT_EQ(client.get("/healthz").status, 200);
}

class HostileClientTest : public NetnsTest {
protected:
    static std::unique_ptr<DaemonProcess> start() {
        return start_tun_daemon({"--request-timeout", "1", "--idle-timeout", "2", "--max-connections", "64"});
    }
};

TEST_F(HostileClientTest, EveryBadRequestGetsItsStatus) {
    auto daemon = start();
    expect_still_serving();
    {
        // The journal's file stays open once a change has been written
        // (some requests below are journaled as begun before the kernel
        // refuses them): open it first, so that what is counted is leaks.
        HttpClient client("127.0.0.1", tun_port);
        ASSERT_EQ(client.post("/tun", R"({"name":"first0"})").status, 201);
        ASSERT_EQ(client.del("/tun/first0").status, 204);
    }
    auto fds_before = open_fds(daemon->pid());
    const std::string json = "Content-Type: application/json\r\n";
    struct Case {
        std::string label;
        std::string bytes;
        std::string status; // the status line's code, or "closed"
    };
    std::vector<Case> corpus{
        {"dns rebinding", "GET /tun HTTP/1.1\r\nHost: evil.example:3030\r\nConnection: close\r\n\r\n", "403"},
        {"no host", "GET /tun HTTP/1.1\r\nConnection: close\r\n\r\n", "403"},
        {"browser origin", request("GET", "/tun", "Origin: http://evil.example\r\n", ""), "403"},
        {"cross-site fetch", request("POST", "/tun", json + "Sec-Fetch-Site: cross-site\r\n", "{}"), "403"},
        {"no content type", request("POST", "/tun", "", "{}"), "415"},
        {"form post", request("POST", "/tun", "Content-Type: application/x-www-form-urlencoded\r\n", "a=b"), "415"},
        {"10 MB body", request("POST", "/tun", json, std::string(10 * 1024 * 1024, 'x')), "413"},
        {"100 KB of headers", request("GET", "/tun", "X-Junk: " + std::string(100 * 1024, 'a') + "\r\n", ""), "431"},
        {"two hosts", request("GET", "/tun", "Host: evil.example\r\n", ""), "400"},
        {"gzip coding", "POST /tun HTTP/1.1\r\nHost: 127.0.0.1:3030\r\nConnection: close\r\n" + json +
                            "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", "400"},
        {"name template", request("POST", "/tun", json, R"({"name":"tun%d"})"), "400"},
        {"name all", request("POST", "/tun", json, R"({"name":"all"})"), "400"},
        {"name option", request("POST", "/tun", json, R"({"name":"-x"})"), "400"},
        {"owner 2^32", request("POST", "/tun", json, R"({"owner":"4294967296"})"), "400"},
        {"group 2^64", request("POST", "/tun", json, R"({"group":"18446744073709551616"})"), "400"},
        {"owner 2^32 number", request("POST", "/tun", json, R"({"owner":4294967296})"), "400"},
        {"nul in owner", request("POST", "/tun", json, "{\"owner\":\"root\\u0000x\"}"), "400"},
        {"multicast address", request("POST", "/tun", json, R"({"address":"224.0.0.1/24"})"), "400"},
        {"broadcast address", request("POST", "/tun", json, R"({"address":"255.255.255.255/32"})"), "400"},
        {"duplicate key", request("POST", "/tun", json, R"({"name":"a0","name":"b0"})"), "400"},
        {"broken json", request("POST", "/tun", json, "{\"name\":"), "400"},
        {"deep json", request("POST", "/tun", json, std::string(10000, '[') + std::string(10000, ']')), "400"},
        {"json not an object", request("POST", "/tun", json, "\"tun0\""), "400"},
        {"unknown field", request("POST", "/tun", json, R"({"name":"a","admin":true})"), "400"},
        {"wrong type", request("POST", "/tun", json, R"({"name":["a"]})"), "400"},
        {"bad name", request("POST", "/tun", json, R"({"name":"../../etc"})"), "400"},
        {"nul in name", request("POST", "/tun", json, "{\"name\":\"a\\u0000b\"}"), "400"},
        {"bad percent", request("GET", "/tun/%zz", "", ""), "400"},
        // Quoted back in the 404's message: not UTF-8, and must not bring
        // the daemon down when the answer is written.
        {"not utf-8 in a name", request("GET", "/tun/%AE", "", ""), "404"},
        {"not utf-8 raw", request("DELETE", "/tun/\xff\xfe", "", ""), "404"},
        {"unknown path", request("GET", "/../../etc/passwd", "", ""), "404"},
        {"wrong method", request("PATCH", "/tun", "", ""), "405"},
        {"not http", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n", "400"},
        {"bad content length", "POST /tun HTTP/1.1\r\nHost: 127.0.0.1:3030\r\nContent-Length: -5\r\n\r\n", "400"},
    };
    for (const auto& c : corpus) {
        RawConnection connection;
        connection.send(c.bytes);
        auto line = connection.status_line();
        EXPECT_NE(line.find(" " + c.status + " "), std::string::npos) << c.label << ": got \"" << line << "\"";
        expect_still_serving();
    }
    EXPECT_TRUE(ip_json("link show type tun").empty()) << "a hostile request created an interface";
    EXPECT_EQ(open_fds(daemon->pid()), fds_before) << "file descriptors leaked";
}

TEST_F(HostileClientTest, SlowlorisIsCutOffWhileOthersAreServed) {
    auto daemon = start();
    RawConnection slow;
    auto partial = request("GET", "/tun", "", "");
    auto started = std::chrono::steady_clock::now();
    bool closed = false;
    // One byte every 100 ms: the whole request would take seconds; the
    // daemon gives it one (--request-timeout 1) once it has begun.
    for (std::size_t i = 0; i < partial.size() && !closed; ++i) {
        slow.send(partial.substr(i, 1));
        slow.read_until_closed(100ms, closed);
        if (i % 10 == 0) expect_still_serving();
    }
    EXPECT_TRUE(closed) << "the slow client was never cut off";
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(HostileClientTest, IdleConnectionsAreCappedAndExpire) {
    auto daemon = start();
    auto fds_before = open_fds(daemon->pid());
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<RawConnection>());
    // Past --max-connections (64), each new connection closes the one idle
    // longest to make room, without an answer: it had nothing in flight.
    // They go in order, so once the last to go has, all have.
    bool closed = false;
    idle[300 - 64 - 1]->read_until_closed(3s, closed);
    int closed_quietly = 0, answered = 0;
    for (auto& connection : idle) {
        auto reply = connection->read_until_closed(20ms, closed);
        closed_quietly += closed && reply.empty();
        answered += !reply.empty();
    }
    EXPECT_EQ(closed_quietly, 300 - 64);
    EXPECT_EQ(answered, 0) << "an idle connection was answered (503?) instead of making room";
    EXPECT_LE(open_fds(daemon->pid()), fds_before + 64) << "the daemon went past --max-connections";
    // The idle ones expire (--idle-timeout 2), and then others are served again.
    idle.back()->read_until_closed(4s, closed);
    EXPECT_TRUE(closed) << "an idle connection outlived the idle timeout";
    idle.clear();
    std::this_thread::sleep_for(300ms);
    expect_still_serving();
    EXPECT_EQ(open_fds(daemon->pid()), fds_before) << "file descriptors leaked";
}

// Out of file descriptors, accept fails at once until one is freed. The
// daemon waits rather than spin on it, says so once, and serves again as
// soon as connections close.
TEST_F(HostileClientTest, OutOfDescriptorsPausesAcceptingAndRecovers) {
    if (access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "prlimit (util-linux) is not installed";
    DaemonProcess daemon(NETD_TUN_DAEMON, port, {"--max-connections", "1000"}, {"/usr/bin/prlimit", "--nofile=48"});
    ASSERT_GT(daemon.pid(), 0);
    std::vector<std::unique_ptr<RawConnection>> connections;
    for (int i = 0; i < 100; ++i) connections.push_back(std::make_unique<RawConnection>());
    std::this_thread::sleep_for(1500ms); // long enough for a spinning loop to write megabytes
    auto err = daemon.log_lines("tun_daemon.err");
    EXPECT_GE(err.size(), 1u) << "the daemon never ran out of descriptors; raise the connection count";
    EXPECT_LE(err.size(), 5u) << (err.empty() ? "" : err.front()) << "\n... " << err.size() << " lines in .err";
    EXPECT_TRUE(std::any_of(err.begin(), err.end(), [](const auto& line) {
        return line.find("Too many open files") != std::string::npos;
    }));
    connections.clear();
    // The pause is a second at most.
    bool served = false;
    for (auto until = std::chrono::steady_clock::now() + 3s; !served && std::chrono::steady_clock::now() < until;) {
        try {
            HttpClient client("127.0.0.1", port);
            served = client.get("/healthz").status == 200;
        } catch (const std::exception&) {
            std::this_thread::sleep_for(50ms);
        }
    }
    EXPECT_TRUE(served) << "the daemon did not serve again once connections closed";
    EXPECT_LE(daemon.log_lines("tun_daemon.err").size(), 5u);
    // The .log is flushed every second.
    auto recovered = [&] {
        auto log = daemon.log_lines("tun_daemon.log");
        return std::any_of(log.begin(), log.end(), [](const auto& line) {
            return line.find("accepting connections again") != std::string::npos;
        });
    };
    for (int i = 0; i < 30 && !recovered(); ++i) std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(recovered()) << "the end of the episode was not logged";
}

} // namespace
} // namespace netd::testing
