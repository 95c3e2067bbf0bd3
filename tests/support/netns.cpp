#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "kernel_view.hpp"

namespace netd::testing {
namespace {

// CAP_NET_ADMIN is bit 12 of the effective set in /proc/self/status.
bool has_net_admin() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("CapEff:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> 12) & 1;
    }
    return false;
}

} // namespace

bool can_make_namespaces(std::string& why_not) {
    if (geteuid() != 0 || !has_net_admin()) {
        why_not = "needs root with CAP_NET_ADMIN to make a network namespace (run the tests as root)";
        return false;
    }
    struct stat device {};
    if (stat("/dev/net/tun", &device) != 0) {
        why_not = "/dev/net/tun is missing (modprobe tun)";
        return false;
    }
    if (std::system("ip -V >/dev/null 2>&1") != 0) {
        why_not = "the ip command (iproute2) is needed to check the kernel's state";
        return false;
    }
    return true;
}

void enter_new_netns() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    sh("ip link set lo up");
}

void NetnsTest::SetUp() {
    static std::string why_not;
    static const bool capable = can_make_namespaces(why_not);
    if (!capable) GTEST_SKIP() << why_not;
    enter_new_netns();
}

InNamespace::InNamespace(const std::string& name) : home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
    int there = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_TRUE(there >= 0 && home_ >= 0 && ::setns(there, CLONE_NEWNET) == 0) << std::strerror(errno);
    if (there >= 0) ::close(there);
}

InNamespace::~InNamespace() {
    if (home_ < 0) return;
    EXPECT_EQ(::setns(home_, CLONE_NEWNET), 0) << std::strerror(errno);
    ::close(home_);
}

} // namespace netd::testing
