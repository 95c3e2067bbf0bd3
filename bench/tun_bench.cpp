// Per-TUN create and delete latency, three ways, for `make bench`:
//   raw      bare syscalls: open, TUNSETIFF, TUNSETPERSIST, address, netmask,
//            broadcast, up; delete by attaching and clearing persist (the
//            physical limit)
//   iproute2 what admins script today: ip tuntap add, ip addr add, ip link set up
//   daemon   POST /tun and DELETE /tun/{name} on a running tun-daemon, from one
//            keep-alive connection
//   scale    POST N times to PATH on the daemon at PORT and report the mean
//            time per request in each tenth of the run, to show how the cost
//            grows with what the daemon holds
//   raw-scale-tun, raw-scale-subnet
//            the same tenths for the bare calls: N raw TUN creates, or N
//            addresses on lo labelled lo:N (one RTM_NEWADDR each, the call
//            subnet-daemon makes; SIOCSIFADDR's label lookup would scan every
//            address), to show how much of that growth is the kernel's own
// Prints one line per measurement: "<way> <op> <values...>". Run it as root in
// a network namespace of its own (bench/run.sh does).

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "netlink.hpp"
#include "unique_fd.hpp"

namespace {

using netd::platform::UniqueFd;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

// Runs `operation(i)` for i in [0, n); the time of each, in milliseconds.
std::vector<double> time_each(int n, const std::function<void(int)>& operation) {
    std::vector<double> millis;
    for (int i = 0; i < n; ++i) {
        auto started = Clock::now();
        operation(i);
        millis.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    }
    return millis;
}

// Runs `operation(i)` for i in [0, n) and prints the p50 and p99 of its time.
void measure(const std::string& label, int n, const std::function<void(int)>& operation) {
    auto millis = time_each(n, operation);
    std::sort(millis.begin(), millis.end());
    auto at = [&](double q) { return millis[std::min(millis.size() - 1, static_cast<std::size_t>(q * millis.size()))]; };
    std::printf("%s %.3f %.3f\n", label.c_str(), at(0.5), at(0.99));
}

std::string name_of(int i) { return "bench" + std::to_string(i); }

ifreq request_for(const std::string& name) {
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return request;
}

void set_ipv4(int socket, unsigned long op, const std::string& name, const std::string& address) {
    auto request = request_for(name);
    auto* in = reinterpret_cast<sockaddr_in*>(&request.ifr_addr);
    in->sin_family = AF_INET;
    inet_pton(AF_INET, address.c_str(), &in->sin_addr);
    if (ioctl(socket, op, &request) < 0) die("address ioctl on " + name);
}

// 10.<i/256>.<i%256>.1/24, the same plan the daemon follows.
std::string host_of(int i, int last) {
    return "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "." + std::to_string(last);
}

UniqueFd attach(const std::string& name, short flags) {
    UniqueFd fd(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) die("open /dev/net/tun");
    auto request = request_for(name);
    request.ifr_flags = flags;
    if (ioctl(fd.get(), TUNSETIFF, &request) < 0) die("TUNSETIFF " + name);
    return fd;
}

void raw_create(int control, int i) {
    auto fd = attach(name_of(i), IFF_TUN | IFF_NO_PI);
    if (ioctl(fd.get(), TUNSETPERSIST, 1) < 0) die("TUNSETPERSIST");
    set_ipv4(control, SIOCSIFADDR, name_of(i), host_of(i, 1));
    set_ipv4(control, SIOCSIFNETMASK, name_of(i), "255.255.255.0");
    set_ipv4(control, SIOCSIFBRDADDR, name_of(i), host_of(i, 255));
    auto up = request_for(name_of(i));
    up.ifr_flags = IFF_UP;
    if (ioctl(control, SIOCSIFFLAGS, &up) < 0) die("SIOCSIFFLAGS");
}

void raw(int n) {
    UniqueFd control(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    measure("raw create", n, [&](int i) { raw_create(control.get(), i); });
    measure("raw delete", n, [&](int i) {
        auto fd = attach(name_of(i), IFF_TUN | IFF_NO_PI);
        if (ioctl(fd.get(), TUNSETPERSIST, 0) < 0) die("TUNSETPERSIST 0");
    });
}

void run(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    pid_t child = fork();
    if (child == 0) {
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("failed: " + argv[0]);
}

void iproute2(int n) {
    measure("iproute2 create", n, [&](int i) {
        run({"ip", "tuntap", "add", "dev", name_of(i), "mode", "tun"});
        run({"ip", "addr", "add", host_of(i, 1) + "/24", "broadcast", host_of(i, 255), "dev", name_of(i)});
        run({"ip", "link", "set", name_of(i), "up"});
    });
    measure("iproute2 delete", n, [&](int i) { run({"ip", "link", "del", name_of(i)}); });
}

void through_daemon(int n, unsigned short port) {
    netd::testing::HttpClient client("127.0.0.1", port);
    std::vector<std::string> names(static_cast<std::size_t>(n));
    measure("daemon create", n, [&](int i) {
        auto reply = client.post("/tun", "{}");
        if (reply.status != 201) throw std::runtime_error("POST /tun answered " + reply.body);
        names[static_cast<std::size_t>(i)] = reply.json()["name"];
    });
    measure("daemon delete", n, [&](int i) {
        auto reply = client.del("/tun/" + names[static_cast<std::size_t>(i)]);
        if (reply.status != 204) throw std::runtime_error("DELETE answered " + reply.body);
    });
}

// Runs `operation(i)` for i in [0, n) and prints the mean time of each tenth.
void measure_deciles(const std::string& label, int n, const std::function<void(int)>& operation) {
    auto millis = time_each(n, operation);
    std::printf("%s", label.c_str());
    for (int decile = 0; decile < 10; ++decile) {
        auto first = millis.begin() + decile * n / 10, last = millis.begin() + (decile + 1) * n / 10;
        double sum = 0;
        for (auto it = first; it != last; ++it) sum += *it;
        std::printf(" %.3f", sum / static_cast<double>(std::max<std::ptrdiff_t>(1, last - first)));
    }
    std::printf("\n");
}

void scale(int n, unsigned short port, const std::string& path) {
    netd::testing::HttpClient client("127.0.0.1", port);
    measure_deciles("scale " + path, n, [&](int) {
        auto reply = client.post(path, "{}");
        if (reply.status != 201) throw std::runtime_error("POST " + path + " answered " + reply.body);
    });
}

void raw_scale_tun(int n) {
    UniqueFd control(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    measure_deciles("raw-scale tun", n, [&](int i) { raw_create(control.get(), i); });
}

void raw_scale_subnet(int n) {
    netd::platform::Netlink netlink;
    auto loopback = static_cast<int>(if_nametoindex("lo"));
    measure_deciles("raw-scale subnet", n, [&](int i) {
        netlink.add_address(loopback, {netd::net::InterfaceAddress::parse(host_of(i, 1) + "/24"), "lo:" + std::to_string(i), 0});
    });
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s raw|iproute2|daemon|raw-scale-tun|raw-scale-subnet N [PORT] | scale N PORT PATH\n", argv[0]);
        return 2;
    }
    std::string way = argv[1];
    int n = std::stoi(argv[2]);
    try {
        if (way == "raw") raw(n);
        if (way == "iproute2") iproute2(n);
        auto port = argc > 3 ? static_cast<unsigned short>(std::stoi(argv[3])) : 3030;
        if (way == "daemon") through_daemon(n, port);
        if (way == "scale") scale(n, port, argc > 4 ? argv[4] : "/tun");
        if (way == "raw-scale-tun") raw_scale_tun(n);
        if (way == "raw-scale-subnet") raw_scale_subnet(n);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "tun_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
