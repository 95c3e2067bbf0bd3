#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netd/net/ip.hpp"
#include "netd/platform/platform.hpp"

// The parts of the macOS backends that are rules rather than system calls:
// utun naming, the bytes of an SIOCAIFADDR request, the lo0:N labels, and
// whose TCP socket is at the other end of a connection.
// They include no macOS header, so they build, and are tested, on Linux too;
// platform/macos feeds them to the system.
namespace netd::platform::macos {

// The unit of a utunN name: "utun3" -> 3. nullopt for anything else
// ("utun", "utun03", "tun0", "utun4294967296").
std::optional<std::uint32_t> utun_unit(std::string_view name);

// The sc_unit to connect the utun control socket with: 0 for "the next free
// utun", N + 1 for a requested utunN. Any other name is invalid, with a
// message that explains macOS naming.
std::uint32_t utun_control_unit(const std::optional<std::string>& requested);

// BSD's struct sockaddr_in, byte for byte (sin_len comes first on BSD).
struct SockaddrIn {
    std::uint8_t len = 16;
    std::uint8_t family = 2; // AF_INET
    std::array<std::uint8_t, 2> port{};
    std::array<std::uint8_t, 4> address{}; // network byte order
    std::array<std::uint8_t, 8> zero{};
};
static_assert(sizeof(SockaddrIn) == 16);

// macOS's struct ifaliasreq for AF_INET, byte for byte: what SIOCAIFADDR
// (add) and SIOCDIFADDR (delete) take.
struct AliasRequest {
    std::array<char, 16> interface{}; // IFNAMSIZ, NUL-terminated
    SockaddrIn address;
    SockaddrIn broadcast;
    SockaddrIn netmask;
};
static_assert(sizeof(AliasRequest) == 64);

// The request that puts `address` (with its netmask and broadcast) on
// `interface`. Throws invalid if the name does not fit IFNAMSIZ.
AliasRequest alias_request(const std::string& interface, const net::InterfaceAddress& address);

// The same for a point-to-point interface, a utun: there the kernel reads
// the broadcast field as the destination (ifra_dstaddr; XNU in.c,
// in_control), refuses none (EDESTADDRREQ) and routes that one host alone
// (in_ifinit: RTF_HOST). The destination is the address itself, as
// `ifconfig utunN A A` gives; the network is routed separately
// (route_add_message).
AliasRequest point_to_point_alias_request(const std::string& interface, const net::InterfaceAddress& address);

// SIOCAIFADDR of an address the interface holds already is no error: the
// kernel changes that address's mask in place (XNU in.c, inctl_ifaddr:
// hostIsNew = 0), and the route it cannot add (EEXIST) is ignored
// (in_ifinit). So a taken address must be caught before the call: throws
// conflict, naming where it is, when any interface of `host` holds
// `address`'s address. (Else subnet-daemon would take another's lo0 alias
// for its own, and delete it later.)
struct HostAddress {
    std::string interface;
    net::InterfaceAddress address;
};
void check_address_free(const std::vector<HostAddress>& host, const net::InterfaceAddress& address);

// macOS refuses an MTU under 72 (IF_MINMTU; XNU if.c, ifioctl SIOCSIFMTU:
// EINVAL), where Linux takes 68: throws invalid, saying so, before anything
// is made.
inline constexpr int minimum_mtu = 72;
void check_mtu(int mtu);

// What EBUSY from connecting the utun control means (XNU if_utun.c,
// utun_ctl_setup): with sc_unit N + 1, utunN exists; with 0, no unit is free.
std::string utun_busy_message(std::uint32_t sc_unit);

// A routing socket's RTM_ADD of `network` through the interface of index
// `interface_index` (`route add -net N -interface utunN`), byte for byte:
// struct rt_msghdr (92 bytes, RTM_VERSION 5), then the destination, the
// gateway as the interface's link address (a sockaddr_dl with sdl_index;
// XNU route.c, ifa_ifwithroute) and the netmask, each rounded up to 4 bytes
// (rtsock.c, ROUNDUP32).
inline constexpr std::size_t rt_msghdr_size = 92;
std::vector<std::uint8_t> route_add_message(std::uint16_t interface_index, const net::Cidr& network,
                                            std::int32_t sequence);

// Whether a route of NET_RT_DUMP (XNU rtsock.c, sysctl_dumpentry: every
// route, clones included) holds address space: not the default-like /0
// and /1, and not one cloned from another (RTF_WASCLONED: a cache of, say,
// the default route for one remote host, which would block any block it
// falls in).
inline constexpr std::uint32_t rtf_host = 0x4;
inline constexpr std::uint32_t rtf_wascloned = 0x20000;
bool route_occupies(int prefix_len, std::uint32_t flags);

// The lo0:N label of each of the daemon's subnets: N is the subnet's index
// among them in network order, so the first is lo0:0, as the spec shows.
std::map<net::Cidr, std::string> lo0_labels(std::vector<net::Cidr> networks);

// One end of a TCP connection: its address as IPv6 (an IPv4 one as
// ::ffff:a.b.c.d, so that an IPv4 client of an IPv6 socket still matches)
// and its port.
struct TcpEnd {
    std::array<std::uint8_t, 16> address{};
    std::uint16_t port = 0;
    friend bool operator==(const TcpEnd&, const TcpEnd&) = default;
};
TcpEnd tcp_end_v4(const std::array<std::uint8_t, 4>& address, std::uint16_t port);
TcpEnd tcp_end_v6(const std::array<std::uint8_t, 16>& address, std::uint16_t port);
bool is_loopback(const TcpEnd& end); // 127.0.0.0/8 or ::1

// A socket found in some process whose local end is our connection's
// foreign one and whose foreign end is our local one: the other end.
struct SocketHolder {
    std::uint32_t uid = 0;
    std::int64_t pid = 0;
};

// Who is at the other end, from every holder of that socket found: the one
// uid when all agree (a socket shared across a fork), with the pid when one
// process holds it; nothing when none was found or the uids differ, since
// then it cannot be told who speaks.
std::optional<Peer> sole_owner(const std::vector<SocketHolder>& holders);

} // namespace netd::platform::macos
