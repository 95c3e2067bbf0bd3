#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netd/client/tun_fd.hpp"
#include "netd/http/client.hpp"
#include "netd/net/ip.hpp"
#include "netd/tunnel_config.hpp"

// netd-tunnel changes nothing in the kernel itself: tun-daemon makes and
// configures its TUN, and hands over its descriptor.
namespace netd::tunnel {

// How to reach the local tun-daemon: its API (as netctl's --tun,
// --tun-socket and --token-file say) and its fd socket.
struct DaemonAccess {
    http::Endpoint api;
    std::string token;
    std::string fd_socket;
    // The TUN's offloads (IFF_VNET_HDR) where the OS has them; off with
    // --no-offloads.
    bool offloads = true;
};

struct TunWanted {
    std::string name;
    net::InterfaceAddress address;
    int mtu = 1500;
    std::vector<net::InterfaceAddress> extra_addresses{};
    std::vector<net::Cidr> routes{};
    std::optional<Mark> mark{};
    std::uint32_t owner = 0; // netd-tunnel's own uid
};

// Has tun-daemon hold the TUN `wanted` (keeping the one it has of that name
// when it matches, and replacing it when it does not: an old config's
// routes must not linger) and returns its descriptor, with the offloads on
// where the OS has them. Blocks on the daemon for seconds at worst: never
// call it on an I/O thread. Throws Error, with the daemon's message.
client::TunDescriptor set_up_tun(const DaemonAccess& daemon, const TunWanted& wanted);

} // namespace netd::tunnel
