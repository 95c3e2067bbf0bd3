// A flood of refused requests adds a bounded number of lines to the logs,
// none of them long, and what the client sent reaches them escaped.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class RefusedRequestLoggingTest : public NetnsTest {
protected:
    void SetUp() override {
        NetnsTest::SetUp();
        if (IsSkipped()) return;
        if (std::system("setpriv --version >/dev/null 2>&1 && /usr/bin/python3 --version >/dev/null 2>&1") != 0) {
            GTEST_SKIP() << "setpriv (util-linux) and python3 are needed";
        }
    }
};

// uid 65534, pipelining on one connection: 20 GETs of a 7000-byte path with
// bytes outside ASCII (404; the parser lets no control character through), then 2,000 POST /tun
// (403: it is no admin); then 30 connections that each send something that
// is not HTTP (400). Prints how many answers of each status came.
const char* flood = R"(import socket, sys, threading
host = b"Host: 127.0.0.1:3030\r\n"
long_get = b"GET /\xff\xfe" + b"a" * 7000 + b" HTTP/1.1\r\n" + host + b"\r\n"
post = b"POST /tun HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
requests = [long_get] * 20 + [post] * 2000
s = socket.create_connection(("127.0.0.1", 3030))
threading.Thread(target=lambda: s.sendall(b"".join(requests)), daemon=True).start()
answers, got = b"", 0
while got < len(requests):
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    answers += chunk
    got = answers.count(b"HTTP/1.1 ")
counts = {}
for code in (b"400", b"403", b"404"):
    counts[code.decode()] = answers.count(b"HTTP/1.1 " + code + b" ")
for _ in range(30):
    c = socket.create_connection(("127.0.0.1", 3030))
    c.sendall(b"\x16\x03\x01 not http\r\n\r\n")
    reply = c.recv(4096)
    counts["400"] += reply.startswith(b"HTTP/1.1 400 ")
    c.close()
print(" ".join(f"{code}:{n}" for code, n in sorted(counts.items())))
)";

TEST_F(RefusedRequestLoggingTest, AFloodAddsABoundedNumberOfLines) {
    auto tuns = start_tun_daemon();
    auto script = ::testing::TempDir() + "netd-flood-" + std::to_string(::getpid()) + ".py";
    std::ofstream(script) << flood;
    std::filesystem::permissions(script, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
    std::string counts;
    FILE* pipe = ::popen(("setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 " + script).c_str(), "r");
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe)) counts += buffer;
    ::pclose(pipe);
    std::filesystem::remove(script);
    EXPECT_EQ(counts, "400:30 403:2000 404:20\n") << "the flood was not answered as expected";
    tuns->stop(SIGTERM);

    auto [log, err] = tuns->expect_log_split("tun_daemon");
    auto lines = tuns->log_lines("tun_daemon.log");
    auto err_lines = tuns->log_lines("tun_daemon.err");
    lines.insert(lines.end(), err_lines.begin(), err_lines.end());
    // Start and stop take a dozen lines; each 10 s window of the flood adds
    // at most 5 refused requests of one caller (2 lines each) and a summary.
    EXPECT_LE(lines.size(), 50u) << log << err;
    EXPECT_LE(log.size() + err.size(), 12u * 1024) << log << err;
    for (const auto& line : lines) {
        EXPECT_LE(line.size(), 400u) << "a client made a line long: " << line.substr(0, 400);
        EXPECT_TRUE(std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
            << "a byte the client sent reached the log as is: " << line.substr(0, 400);
    }
    EXPECT_NE(log.find("GET /\\xff\\xfeaaaa"), std::string::npos) << "the path is not escaped:\n" << log;
    EXPECT_NE(log.find("...[+"), std::string::npos) << "the path is not cut:\n" << log;
    EXPECT_NE(log.find("more refused requests from uid 65534 in the last"), std::string::npos)
        << "the flood was not summarised:\n" << log;
}

} // namespace
} // namespace netd::testing
