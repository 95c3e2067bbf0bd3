#include "interfaces_macos.hpp"

#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>

#include "kernel_error.hpp"

namespace netd::platform {

net::IpAddress ipv4_of(const sockaddr* address) {
    std::uint8_t bytes[4] = {};
    constexpr auto start = offsetof(sockaddr_in, sin_addr);
    auto length = static_cast<std::size_t>(address->sa_len);
    for (std::size_t i = 0; i < 4 && start + i < length; ++i) {
        bytes[i] = reinterpret_cast<const std::uint8_t*>(address)[start + i];
    }
    return net::IpAddress::from_bytes(bytes, sizeof bytes);
}

int prefix_len_of(net::IpAddress netmask) { return std::popcount(netmask.v4_value()); }

std::vector<InterfaceIpv4> ipv4_addresses() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) fail_errno(errno, "listing the interface addresses (getifaddrs)");
    std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owned(list, &::freeifaddrs);
    std::vector<InterfaceIpv4> out;
    for (const auto* entry = list; entry; entry = entry->ifa_next) {
        if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET || !entry->ifa_netmask) continue;
        out.push_back({entry->ifa_name,
                       net::InterfaceAddress(ipv4_of(entry->ifa_addr), prefix_len_of(ipv4_of(entry->ifa_netmask)))});
    }
    return out;
}

int open_inet_control_socket() {
    // macOS has no SOCK_CLOEXEC; nothing forks in between.
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) fail_errno(errno, "opening a control socket");
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

} // namespace netd::platform
