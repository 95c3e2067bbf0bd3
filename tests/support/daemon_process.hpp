#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace netd::testing {

// A real daemon binary run as a child process, in whatever network namespace
// the test is in, with its logs in a fresh temporary directory.
class DaemonProcess {
public:
    // Starts `binary` with `--listen <host>:<port> --log-dir <tmp>`, a
    // state directory under it unless `extra` names one, and `extra`; then
    // polls until the port accepts (or fails the test).
    // `launcher`, when given, runs the daemon: e.g. {"setpriv", "--bounding-set=..."}.
    DaemonProcess(std::string binary, unsigned short port, std::vector<std::string> extra = {},
                  std::vector<std::string> launcher = {}, std::string host = "127.0.0.1");
    ~DaemonProcess();

    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    unsigned short port() const { return port_; }
    const std::string& log_dir() const { return log_dir_; }
    pid_t pid() const { return pid_; }

    // Sends `signal` and waits; returns the exit status (or 128 + signal).
    int stop(int signal = 15);

    // The lines of <log-dir>/<file>, e.g. "tun_daemon.log".
    std::vector<std::string> log_lines(const std::string& file) const;

    // Checks that <stem>.log holds only TRACE to INFO lines and <stem>.err
    // only WARN and worse, and returns the two files' text.
    std::pair<std::string, std::string> expect_log_split(const std::string& stem) const;

private:
    std::string binary_;
    unsigned short port_;
    std::string log_dir_;
    pid_t pid_ = -1;
};

// The daemons' default ports: free, since every test has a namespace of its own.
inline constexpr unsigned short tun_port = 3030;
inline constexpr unsigned short subnet_port = 3031;

// The daemons this build made, on their default ports.
inline std::unique_ptr<DaemonProcess> start_tun_daemon(std::vector<std::string> extra = {}) {
    return std::make_unique<DaemonProcess>(NETD_TUN_DAEMON, tun_port, std::move(extra));
}
inline std::unique_ptr<DaemonProcess> start_subnet_daemon(std::vector<std::string> extra = {}) {
    return std::make_unique<DaemonProcess>(NETD_SUBNET_DAEMON, subnet_port, std::move(extra));
}

// Whether something accepts TCP connections at host:port.
bool port_open(const std::string& host, unsigned short port);

// Runs a daemon to completion (for flag and start-up failures): exit code and
// what it wrote to stderr.
struct Finished {
    int exit_code;
    std::string stderr_text;
};
Finished run_to_exit(const std::string& binary, const std::vector<std::string>& args);

} // namespace netd::testing
