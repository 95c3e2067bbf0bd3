#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netd/backend.hpp"
#include "netd/error.hpp"

// Who may have a descriptor of a TUN through tun-daemon's fd socket, and
// the socket's line protocol (see README, "Handing a TUN to a program").
// Pure: the socket itself is tun/fd_socket.hpp.
namespace netd {

// Who asks, as the kernel recorded it when they connected to the socket.
struct DescriptorClaimant {
    std::uint32_t uid = 0; // effective uid
    // The process's effective group and supplementary groups
    // (platform::unix_peer_groups), not the user database's: the kernel
    // checks those same groups when a process opens a TUN itself.
    std::vector<std::uint32_t> groups{};
    std::optional<std::int64_t> pid{};
};

// "uid 1000 pid 4242", for the log.
std::string describe(const DescriptorClaimant& claimant);

// Whether `claimant` may have a descriptor of `tun`: root, the TUN's owner,
// or a process with the TUN's group among its groups, which is what the
// Linux kernel lets open the TUN without CAP_NET_ADMIN (tun_not_capable), so
// the socket grants no one more than the kernel would. nullopt when it
// may; else the refusal, which says who may.
std::optional<std::string> descriptor_refusal(const DescriptorClaimant& claimant, const TunInterface& tun);

// Where tun-daemon hands out TUN descriptors unless --fd-socket says
// otherwise, and where netctl tun exec looks. /run/netd is root's (or
// netd's) and closed to others' writes: nobody else can put a socket there.
// macOS has no /run (and its root volume is read-only): /var/run there.
#ifdef __APPLE__
inline constexpr const char* default_fd_socket = "/var/run/netd/tun-fd.sock";
#else
inline constexpr const char* default_fd_socket = "/run/netd/tun-fd.sock";
#endif

// A request is the TUN's name, optionally " vnet_hdr", and a newline.
inline constexpr std::size_t max_descriptor_request = 64; // bytes, newline included

struct DescriptorRequest {
    std::string name;
    // Open it with IFF_VNET_HDR, so that its reader may turn on the TUN's
    // offloads (TUNSETOFFLOAD, which needs no privilege) and move 64 KiB
    // segments instead of packets: netd-tunnel asks for it.
    bool vnet_hdr = false;
};

// What a request line asks (newline removed); throws invalid, quoting the
// line escaped, when it is not an interface name and the options above.
DescriptorRequest parse_descriptor_request(std::string_view line);

// The answer lines: {"name":"tun0"} (sent with the descriptor; with
// "vnet_hdr":true when asked and done) and
// {"error":{"code":"forbidden","message":"..."}}, each ending in a newline.
// An internal error's message is replaced by a fixed one, as in the API.
std::string descriptor_granted(const DescriptorRequest& request);
std::string descriptor_refused(const Error& error);

} // namespace netd
