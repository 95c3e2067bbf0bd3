#include "macos_rules.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "netd/error.hpp"

namespace netd::platform::macos {
namespace {

constexpr std::string_view utun_prefix = "utun";

SockaddrIn sockaddr_of(net::IpAddress address) {
    SockaddrIn out;
    auto value = address.v4_value();
    out.address = {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
                   static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
    return out;
}

} // namespace

std::optional<std::uint32_t> utun_unit(std::string_view name) {
    if (name.substr(0, utun_prefix.size()) != utun_prefix) return std::nullopt;
    auto digits = name.substr(utun_prefix.size());
    if (digits.empty() || digits.size() > 10 || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
    std::uint64_t unit = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        unit = unit * 10 + static_cast<std::uint64_t>(c - '0');
    }
    // sc_unit is N + 1 in 32 bits.
    if (unit >= std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    return static_cast<std::uint32_t>(unit);
}

std::uint32_t utun_control_unit(const std::optional<std::string>& requested) {
    if (!requested) return 0;
    if (auto unit = utun_unit(*requested)) return *unit + 1;
    fail(ErrorCode::invalid, "on macOS a TUN interface is named utunN (utun0, utun7, ...), not '" + *requested +
                                 "'; leave the name out to get the next free one");
}

AliasRequest alias_request(const std::string& interface, const net::InterfaceAddress& address) {
    AliasRequest request;
    if (interface.empty() || interface.size() >= request.interface.size()) {
        fail(ErrorCode::invalid, "the interface name '" + interface + "' does not fit in 15 characters");
    }
    std::copy(interface.begin(), interface.end(), request.interface.begin());
    auto network = address.network();
    request.address = sockaddr_of(address.address());
    request.broadcast = sockaddr_of(network.broadcast());
    request.netmask = sockaddr_of(network.netmask());
    return request;
}

AliasRequest point_to_point_alias_request(const std::string& interface, const net::InterfaceAddress& address) {
    auto request = alias_request(interface, address);
    request.broadcast = request.address;
    return request;
}

void check_address_free(const std::vector<HostAddress>& host, const net::InterfaceAddress& address) {
    for (const auto& held : host) {
        if (held.address.address() == address.address()) {
            fail(ErrorCode::conflict, address.address().to_string() + " is on " + held.interface + " already (" +
                                          held.address.to_string() + ")");
        }
    }
}

void check_mtu(int mtu) {
    if (mtu < minimum_mtu) {
        fail(ErrorCode::invalid, "mtu " + std::to_string(mtu) + " is under macOS's minimum, " +
                                     std::to_string(minimum_mtu) + " (IF_MINMTU)");
    }
}

std::string utun_busy_message(std::uint32_t sc_unit) {
    if (sc_unit == 0) return "no utun unit is free";
    return "interface utun" + std::to_string(sc_unit - 1) + " already exists";
}

namespace {

void put16(std::vector<std::uint8_t>& out, std::size_t at, std::uint16_t value) {
    out[at] = static_cast<std::uint8_t>(value);
    out[at + 1] = static_cast<std::uint8_t>(value >> 8);
}

void put32(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
}

void put(std::vector<std::uint8_t>& out, std::size_t at, const SockaddrIn& address) {
    std::memcpy(out.data() + at, &address, sizeof address);
}

} // namespace

std::vector<std::uint8_t> route_add_message(std::uint16_t interface_index, const net::Cidr& network,
                                            std::int32_t sequence) {
    // Host byte order for the header's integers: macOS runs little-endian
    // only (x86_64, arm64).
    constexpr std::uint8_t rtm_version = 5, rtm_add = 1;
    constexpr std::uint32_t rtf_up = 0x1, rtf_static = 0x800;
    constexpr std::uint32_t rta_dst = 0x1, rta_gateway = 0x2, rta_netmask = 0x4;
    constexpr std::uint8_t af_link = 18;
    constexpr std::size_t sockaddr_dl_size = 20;
    constexpr std::size_t destination = rt_msghdr_size, gateway = destination + sizeof(SockaddrIn),
                          netmask = gateway + sockaddr_dl_size, size = netmask + sizeof(SockaddrIn);
    std::vector<std::uint8_t> out(size);
    put16(out, 0, static_cast<std::uint16_t>(size)); // rtm_msglen
    out[2] = rtm_version;
    out[3] = rtm_add;
    put16(out, 4, interface_index); // rtm_index
    put32(out, 8, rtf_up | rtf_static);
    put32(out, 12, rta_dst | rta_gateway | rta_netmask);
    put32(out, 20, static_cast<std::uint32_t>(sequence));
    put(out, destination, sockaddr_of(network.network()));
    out[gateway] = sockaddr_dl_size; // sdl_len
    out[gateway + 1] = af_link;
    put16(out, gateway + 2, interface_index); // sdl_index
    put(out, netmask, sockaddr_of(network.netmask()));
    return out;
}

bool route_occupies(int prefix_len, std::uint32_t flags) { return prefix_len >= 2 && !(flags & rtf_wascloned); }

std::map<net::Cidr, std::string> lo0_labels(std::vector<net::Cidr> networks) {
    std::sort(networks.begin(), networks.end());
    networks.erase(std::unique(networks.begin(), networks.end()), networks.end());
    std::map<net::Cidr, std::string> labels;
    for (std::size_t i = 0; i < networks.size(); ++i) labels[networks[i]] = "lo0:" + std::to_string(i);
    return labels;
}

TcpEnd tcp_end_v4(const std::array<std::uint8_t, 4>& address, std::uint16_t port) {
    TcpEnd end;
    end.address[10] = 0xff;
    end.address[11] = 0xff;
    std::copy(address.begin(), address.end(), end.address.begin() + 12);
    end.port = port;
    return end;
}

TcpEnd tcp_end_v6(const std::array<std::uint8_t, 16>& address, std::uint16_t port) { return {address, port}; }

bool is_loopback(const TcpEnd& end) {
    static constexpr std::array<std::uint8_t, 12> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static constexpr std::array<std::uint8_t, 16> ipv6_loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (std::equal(mapped.begin(), mapped.end(), end.address.begin())) return end.address[12] == 127;
    return end.address == ipv6_loopback;
}

std::optional<Peer> sole_owner(const std::vector<SocketHolder>& holders) {
    if (holders.empty()) return std::nullopt;
    const auto& first = holders.front();
    bool one_process = true;
    for (const auto& holder : holders) {
        if (holder.uid != first.uid) return std::nullopt;
        one_process = one_process && holder.pid == first.pid;
    }
    return Peer{first.uid, one_process ? std::optional<std::int64_t>(first.pid) : std::nullopt};
}

} // namespace netd::platform::macos
