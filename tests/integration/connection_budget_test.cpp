// The connection budget against the running daemon: a user who holds every
// connection it may, idle or sending requests slowly, locks out no one (not
// root, not the Unix socket, not itself), and a connection gives way only
// while it has no request in flight.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class ConnectionBudgetTest : public NetnsTest {
protected:
    void SetUp() override {
        NetnsTest::SetUp();
        if (IsSkipped()) return;
        if (std::system("setpriv --version >/dev/null 2>&1 && curl --version >/dev/null 2>&1 && "
                        "/usr/bin/python3 --version >/dev/null 2>&1") != 0) {
            GTEST_SKIP() << "setpriv (util-linux), curl and python3 are needed";
        }
        dir_ = ::testing::TempDir() + "netd-budget-" + std::to_string(::getpid());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        std::filesystem::permissions(dir_, std::filesystem::perms::all); // nobody runs a script from here
    }
    void TearDown() override {
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    std::string dir_;
};

const std::string nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";

std::string output_of(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    ::pclose(pipe);
    return out;
}

// curl's status code for a request (`who` runs it: "" for root, or `nobody`).
int status_of(const std::string& who, const std::string& args) {
    return std::atoi(output_of(who + "curl -s -o /dev/null -m 5 -w '%{http_code}' " + args + " 2>/dev/null").c_str());
}

// uid 65534 holding as many connections as it can open: every eighth has
// sent part of a request and stalls (a slowloris), the others send nothing.
// They stay open until the holder is stopped.
class Holder {
public:
    Holder(const std::string& dir, int connections) {
        std::ofstream(dir + "/holder.py") << R"(import os, socket, sys, time
held = []
for i in range(int(sys.argv[1])):
    s = socket.create_connection(("127.0.0.1", 3030))
    if i % 8 == 0:
        s.sendall(b"GET /tun HTTP/1.1\r\nHost: 127.0.0.1:3030\r\nX-Slow: ")
    held.append(s)
print("ready", os.getpid(), flush=True)
time.sleep(60)
)";
        pipe_ = ::popen(("exec " + nobody + "/usr/bin/python3 " + dir + "/holder.py " + std::to_string(connections)).c_str(),
                        "r");
        char line[128] = {};
        if (pipe_ && std::fgets(line, sizeof line, pipe_) && std::sscanf(line, "ready %d", &pid_) == 1) return;
        pid_ = -1;
    }
    ~Holder() { stop(); }
    bool ready() const { return pid_ > 0; }

    // Closes every connection it holds.
    void stop() {
        if (pid_ > 0) ::kill(pid_, SIGKILL);
        if (pipe_) ::pclose(pipe_);
        pid_ = -1;
        pipe_ = nullptr;
    }

private:
    FILE* pipe_ = nullptr;
    pid_t pid_ = -1;
};

std::size_t open_fds(pid_t pid) {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        ++count;
    }
    return count;
}

// 300 connections from uid 65534, past the 192 (256 less the quarter kept
// for the Unix socket and admins) it may hold: its own idle ones give way.
TEST_F(ConnectionBudgetTest, IdleConnectionsOfOneUserLockOutNoOne) {
    std::ofstream(dir_ + "/token") << "s3cret\n";
    std::filesystem::permissions(dir_ + "/token",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto socket = dir_ + "/tun.sock";
    auto tuns = start_tun_daemon({"--unix-socket", socket, "--token-file", dir_ + "/token"});
    auto fds_before = open_fds(tuns->pid());
    Holder holder(dir_, 300);
    ASSERT_TRUE(holder.ready()) << "uid 65534 could not open its connections";

    const std::string token = "-H 'Authorization: Bearer s3cret' ";
    const std::string json = "-H 'Content-Type: application/json' ";
    const std::string over_socket = "--unix-socket " + socket + " ";
    EXPECT_EQ(status_of("", token + json + "-d '{\"name\":\"tcp0\"}' http://127.0.0.1:3030/tun"), 201)
        << "root was locked out over TCP";
    EXPECT_EQ(status_of("", over_socket + token + json + "-d '{\"name\":\"local0\"}' http://localhost/tun"), 201)
        << "root was locked out of the Unix socket";
    EXPECT_EQ(status_of("", token + "http://127.0.0.1:3030/tun"), 200);
    EXPECT_EQ(status_of(nobody, token + "http://127.0.0.1:3030/tun"), 200)
        << "uid 65534 was locked out by its own idle connections";
    EXPECT_LE(open_fds(tuns->pid()), fds_before + 256) << "the daemon went past --max-connections";

    auto metrics = output_of("curl -s " + over_socket + token + "http://localhost/metrics");
    std::smatch evicted;
    ASSERT_TRUE(std::regex_search(metrics, evicted, std::regex("netd_http_connections_evicted_total (\\d+)")))
        << metrics;
    EXPECT_GE(std::stoi(evicted[1]), 300 - 192 + 1) << metrics;

    holder.stop(); // else the daemon's shutdown waits for its slow requests
    tuns->stop(SIGTERM);
    auto [log, err] = tuns->expect_log_split("tun_daemon");
    std::size_t lines = 0;
    for (auto at = err.find("closing the connections idle longest"); at != std::string::npos;
         at = err.find("closing the connections idle longest", at + 1)) {
        ++lines;
    }
    EXPECT_EQ(lines, 1u) << "not one line per episode:\n" << err;
    EXPECT_NE(err.find("more idle connections closed to make room"), std::string::npos) << err;
}

// A raw client, to pipeline requests and read their answers late.
class RawClient {
public:
    explicit RawClient(std::size_t receive_buffer = 0) : socket_(io_) {
        socket_.open(tcp::v4());
        if (receive_buffer) socket_.set_option(asio::socket_base::receive_buffer_size(int(receive_buffer)));
        socket_.connect({asio::ip::make_address("127.0.0.1"), tun_port});
    }

    void send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

    // Sends `bytes` without reading anything, until they are all sent or
    // nothing more goes for `stall`; returns how many bytes went.
    std::size_t push(const std::string& bytes, std::chrono::milliseconds stall) {
        socket_.non_blocking(true);
        auto last_progress = std::chrono::steady_clock::now();
        std::size_t sent = 0;
        while (sent < bytes.size() && std::chrono::steady_clock::now() - last_progress < stall) {
            boost::system::error_code ec;
            auto n = socket_.write_some(asio::buffer(bytes.data() + sent, bytes.size() - sent), ec);
            if (ec && ec != asio::error::would_block) break;
            if (n > 0) {
                sent += n;
                last_progress = std::chrono::steady_clock::now();
            } else {
                std::this_thread::sleep_for(1ms);
            }
        }
        return sent;
    }

    // Reads until `marker` was seen `count` times, the server closes, or
    // `limit` passes; returns how many times it was seen.
    std::size_t read_until(const std::string& marker, std::size_t count, std::chrono::milliseconds limit) {
        socket_.non_blocking(true);
        auto deadline = std::chrono::steady_clock::now() + limit;
        std::string window; // the unsearched end of what came, so that a marker may straddle two reads
        std::size_t seen = 0;
        while (seen < count && std::chrono::steady_clock::now() < deadline) {
            char buffer[64 * 1024];
            boost::system::error_code ec;
            auto n = socket_.read_some(asio::buffer(buffer), ec);
            if (ec == asio::error::would_block) {
                std::this_thread::sleep_for(1ms);
                continue;
            }
            if (ec) {
                closed_ = true;
                break;
            }
            window.append(buffer, n);
            std::size_t at = 0;
            for (std::size_t found; (found = window.find(marker, at)) != std::string::npos; at = found + 1) ++seen;
            window.erase(0, window.size() > marker.size() ? window.size() - marker.size() : 0);
        }
        return seen;
    }

    bool closed_within(std::chrono::milliseconds limit) {
        read_until("\n\n\n", 1, limit); // never sent: reads until the close
        return closed_;
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
    bool closed_ = false;
};

// With one connection allowed: while it waits for the client to read its
// responses, a request is in flight, and a new connection gets 503; once
// it waits for its next request, it gives way to a new one.
TEST_F(ConnectionBudgetTest, OnlyARequestInFlightHoldsItsConnection) {
    auto tuns = start_tun_daemon({"--max-connections", "1"});
    // Each 404 quotes the path, so the responses fill the kernel's buffers
    // as fast as the requests come: once they are full, the daemon's write
    // waits, and it reads no more requests, which stalls the client.
    const std::string request = "GET /" + std::string(7000, 'x') + " HTTP/1.1\r\nHost: 127.0.0.1:3030\r\n\r\n";
    std::string pipelined;
    while (pipelined.size() < (32u << 20)) pipelined += request;
    RawClient busy(64 * 1024);
    auto sent = busy.push(pipelined, 500ms);
    ASSERT_LT(sent, pipelined.size()) << "the daemon's responses never filled the kernel's buffers";
    const std::size_t count = sent / request.size(); // the last may be partial

    RawClient refused;
    EXPECT_EQ(refused.read_until("HTTP/1.1 503 ", 1, 2s), 1u) << "a connection with a request in flight gave way";

    EXPECT_EQ(busy.read_until("HTTP/1.1 404 ", count, 20s), count) << "responses in flight were cut off";
    // Its last response read, it waits for its next request (once the
    // daemon has seen its write end, which a retry gives it time for).
    bool served = false;
    for (auto until = std::chrono::steady_clock::now() + 2s; !served && std::chrono::steady_clock::now() < until;) {
        RawClient next;
        next.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:3030\r\n\r\n");
        served = next.read_until("HTTP/1.1 200 ", 1, 1s) == 1;
        if (!served) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(served) << "an idle connection did not give way";
    EXPECT_TRUE(busy.closed_within(2s)) << "the idle connection was not closed";
}

} // namespace
} // namespace netd::testing
