#include "macos_rules.hpp"

#include <algorithm>
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

std::map<net::Cidr, std::string> lo0_labels(std::vector<net::Cidr> networks) {
    std::sort(networks.begin(), networks.end());
    networks.erase(std::unique(networks.begin(), networks.end()), networks.end());
    std::map<net::Cidr, std::string> labels;
    for (std::size_t i = 0; i < networks.size(); ++i) labels[networks[i]] = "lo0:" + std::to_string(i);
    return labels;
}

} // namespace netd::platform::macos
