#pragma once

#include <string>
#include <vector>

#include "macos_rules.hpp"
#include "netd/net/ip.hpp"

struct sockaddr;

namespace netd::platform {

// An IPv4 address on an interface, as getifaddrs reports it.
using InterfaceIpv4 = macos::HostAddress;

// Every IPv4 address of the host (getifaddrs).
std::vector<InterfaceIpv4> ipv4_addresses();

// The address in an AF_INET sockaddr. BSD may shorten a netmask's sockaddr
// to its non-zero bytes (sa_len < 8); the missing ones are zero.
net::IpAddress ipv4_of(const sockaddr* address);

// The prefix length of a contiguous netmask: 255.255.252.0 -> 22.
int prefix_len_of(net::IpAddress netmask);

// An AF_INET datagram socket for the interface ioctls, close-on-exec.
int open_inet_control_socket();

} // namespace netd::platform
