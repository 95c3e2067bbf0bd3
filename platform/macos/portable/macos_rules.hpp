#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netd/net/ip.hpp"

// The parts of the macOS backends that are rules rather than system calls:
// utun naming, the bytes of an SIOCAIFADDR request, and the lo0:N labels.
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

// The lo0:N label of each of the daemon's subnets: N is the subnet's index
// among them in network order, so the first is lo0:0, as the spec shows.
std::map<net::Cidr, std::string> lo0_labels(std::vector<net::Cidr> networks);

} // namespace netd::platform::macos
