#include "daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

namespace netd::testing {
namespace {

std::string make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "netd-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

// fork + exec with stderr sent to `stderr_fd` (or left alone when -1).
pid_t spawn(const std::string& binary, const std::vector<std::string>& args, int stderr_fd) {
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
        execv(binary.c_str(), argv.data());
        _exit(127);
    }
    return pid;
}

int wait_status(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

bool port_open(const std::string& host, unsigned short port) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect({boost::asio::ip::make_address(host), port}, ec);
    return !ec;
}

DaemonProcess::DaemonProcess(std::string binary, unsigned short port, std::vector<std::string> extra,
                             std::vector<std::string> launcher, std::string host)
    : binary_(std::move(binary)), port_(port), log_dir_(make_temp_dir()) {
    std::vector<std::string> args{"--listen", host + ":" + std::to_string(port), "--log-dir", log_dir_};
    if (std::find(extra.begin(), extra.end(), "--state-dir") == extra.end()) {
        args.insert(args.end(), {"--state-dir", log_dir_ + "/state"});
    }
    // Never the host's /run/netd/tun-fd.sock, which namespaces do not separate.
    if (binary_ == NETD_TUN_DAEMON && std::find(extra.begin(), extra.end(), "--fd-socket") == extra.end()) {
        args.insert(args.end(), {"--fd-socket", log_dir_ + "/tun-fd.sock"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    if (launcher.empty()) {
        pid_ = spawn(binary_, args, -1);
    } else {
        std::vector<std::string> launched(launcher.begin() + 1, launcher.end());
        launched.push_back(binary_);
        launched.insert(launched.end(), args.begin(), args.end());
        pid_ = spawn(launcher.front(), launched, -1);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!port_open(host, port_)) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            ADD_FAILURE() << binary_ << " exited during start-up";
            return;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << binary_ << " did not listen on port " << port_ << " within 10 s";
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

DaemonProcess::~DaemonProcess() {
    if (pid_ > 0) stop(SIGKILL);
    std::error_code ignored;
    std::filesystem::remove_all(log_dir_, ignored);
}

int DaemonProcess::stop(int signal) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = wait_status(pid_);
    pid_ = -1;
    return status;
}

std::vector<std::string> DaemonProcess::log_lines(const std::string& file) const {
    std::ifstream in(log_dir_ + "/" + file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::pair<std::string, std::string> DaemonProcess::expect_log_split(const std::string& stem) const {
    auto check = [&](const std::string& file, std::initializer_list<const char*> levels) {
        std::string all;
        auto lines = log_lines(file);
        for (const auto& line : lines) {
            bool allowed = std::any_of(levels.begin(), levels.end(),
                                       [&](const char* level) { return line.find(level) != std::string::npos; });
            EXPECT_TRUE(allowed) << "in " << file << ": " << line;
            all += line + "\n";
        }
        return all;
    };
    return {check(stem + ".log", {"[trace]", "[debug]", "[info]"}),
            check(stem + ".err", {"[warning]", "[error]", "[critical]"})};
}

Finished run_to_exit(const std::string& binary, const std::vector<std::string>& args) {
    char path[] = "/tmp/netd-stderr-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    int code = wait_status(spawn(binary, args, fd));
    lseek(fd, 0, SEEK_SET);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    close(fd);
    return {code, text};
}

} // namespace netd::testing
