#include "netd/net/ipv4.hpp"

#include <optional>

#include "netd/error.hpp"

namespace netd::net {
namespace {

std::string quoted(std::string_view text) {
    // Shown back to the client, so keep it short and printable.
    std::string out = "\"";
    for (char c : text.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (text.size() > 40) out += "...";
    return out + "\"";
}

[[noreturn]] void reject(std::string_view text, const std::string& why) {
    fail(ErrorCode::invalid, quoted(text) + ": " + why);
}

// A decimal number with no sign, no leading zero and at most `max`, or the
// reason it is not one.
std::optional<std::string> parse_decimal(std::string_view digits, unsigned max, unsigned& value) {
    if (digits.empty()) return "is empty";
    if (digits.size() > 1 && digits[0] == '0') return "has a leading zero";
    value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return "is not a decimal number";
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > max) return "is over " + std::to_string(max);
    }
    return std::nullopt;
}

std::string dotted(std::uint32_t value) {
    return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xff) + "." +
           std::to_string((value >> 8) & 0xff) + "." + std::to_string(value & 0xff);
}

// "a.b.c.d/n" split at its one slash; rejects anything else.
std::pair<std::string_view, unsigned> split_prefix(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) reject(text, "expected a.b.c.d/prefix");
    unsigned prefix = 0;
    if (auto why = parse_decimal(text.substr(slash + 1), 32, prefix)) {
        reject(text, "the prefix length " + *why + " (it must be 0 to 32)");
    }
    return {text.substr(0, slash), prefix};
}

} // namespace

Ipv4 Ipv4::parse(std::string_view text) {
    // The longest dotted quad is 15 characters; anything longer is rejected
    // before it is looked at, whatever it holds.
    if (text.size() > 15) reject(text, "too long for an IPv4 address");
    std::uint32_t value = 0;
    int octets = 0;
    for (std::string_view rest = text;; ++octets) {
        auto dot = rest.find('.');
        auto part = rest.substr(0, dot);
        unsigned octet = 0;
        if (octets < 4) {
            if (auto why = parse_decimal(part, 255, octet)) {
                reject(text, "octet " + std::to_string(octets + 1) + " " + *why);
            }
        }
        value = value << 8 | octet;
        if (dot == std::string_view::npos) {
            if (octets + 1 != 4) reject(text, "expected 4 octets, got " + std::to_string(octets + 1));
            break;
        }
        rest.remove_prefix(dot + 1);
    }
    return Ipv4(value);
}

std::string Ipv4::to_string() const { return dotted(value_); }

Cidr::Cidr(Ipv4 network, int prefix_len) : network_(network), prefix_len_(prefix_len) {
    if (prefix_len < 0 || prefix_len > 32) {
        fail(ErrorCode::invalid, "prefix length must be 0 to 32, not " + std::to_string(prefix_len));
    }
    auto masked = Ipv4(network.value() & prefix_mask(prefix_len));
    if (masked != network) {
        auto text = network.to_string() + "/" + std::to_string(prefix_len);
        reject(text, "host bits are set (did you mean " + masked.to_string() + "/" + std::to_string(prefix_len) + "?)");
    }
}

Cidr Cidr::parse(std::string_view text) {
    auto [address, prefix] = split_prefix(text);
    return Cidr(Ipv4::parse(address), static_cast<int>(prefix));
}

std::string Cidr::to_string() const { return network_.to_string() + "/" + std::to_string(prefix_len_); }

InterfaceAddress::InterfaceAddress(Ipv4 address, int prefix_len) : address_(address), prefix_len_(prefix_len) {
    if (prefix_len < 0 || prefix_len > 32) {
        fail(ErrorCode::invalid, "prefix length must be 0 to 32, not " + std::to_string(prefix_len));
    }
}

InterfaceAddress InterfaceAddress::parse(std::string_view text) {
    auto [address, prefix] = split_prefix(text);
    return InterfaceAddress(Ipv4::parse(address), static_cast<int>(prefix));
}

InterfaceAddress InterfaceAddress::first_host_of(const Cidr& network) {
    // A /31 is a point-to-point link whose two addresses are both hosts
    // (RFC 3021), and a /32 is a single host: neither has a network address
    // to skip.
    auto offset = network.prefix_len() >= 31 ? 0u : 1u;
    return InterfaceAddress(Ipv4(network.network().value() + offset), network.prefix_len());
}

Cidr InterfaceAddress::network() const {
    return Cidr(Ipv4(address_.value() & prefix_mask(prefix_len_)), prefix_len_);
}

std::string InterfaceAddress::to_string() const { return address_.to_string() + "/" + std::to_string(prefix_len_); }

void check_prefix_len(int prefix_len, int min, int max) {
    if (prefix_len < min || prefix_len > max) {
        fail(ErrorCode::invalid, "the prefix length must be from " + std::to_string(min) + " to " +
                                     std::to_string(max) + ", not " + std::to_string(prefix_len));
    }
}

} // namespace netd::net
