#include "netd/net/ip.hpp"

#include <optional>

#include "netd/error.hpp"

namespace netd::net {
namespace {

std::string quoted(std::string_view text) {
    // Shown back to the client, so keep it short and printable.
    std::string out = "\"";
    for (char c : text.substr(0, 50)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (text.size() > 50) out += "...";
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

std::uint32_t parse_dotted_quad(std::string_view text, std::string_view whole) {
    // The longest dotted quad is 15 characters; anything longer is rejected
    // before it is looked at, whatever it holds.
    if (text.size() > 15) reject(whole, "too long for an IPv4 address");
    std::uint32_t value = 0;
    int octets = 0;
    for (std::string_view rest = text;; ++octets) {
        auto dot = rest.find('.');
        auto part = rest.substr(0, dot);
        unsigned octet = 0;
        if (octets < 4) {
            if (auto why = parse_decimal(part, 255, octet)) {
                reject(whole, "octet " + std::to_string(octets + 1) + " " + *why);
            }
        }
        value = value << 8 | octet;
        if (dot == std::string_view::npos) {
            if (octets + 1 != 4) reject(whole, "expected 4 octets, got " + std::to_string(octets + 1));
            break;
        }
        rest.remove_prefix(dot + 1);
    }
    return value;
}

// One to four hex digits: a 16-bit group of an IPv6 address.
std::optional<std::uint16_t> parse_group(std::string_view digits) {
    if (digits.empty() || digits.size() > 4) return std::nullopt;
    unsigned value = 0;
    for (char c : digits) {
        unsigned digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<unsigned>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<unsigned>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
        value = value << 4 | digit;
    }
    return static_cast<std::uint16_t>(value);
}

// The groups of one side of "::" (or of the whole address when it has
// none), with a trailing dotted quad counted as two groups when allowed.
std::vector<std::uint16_t> parse_groups(std::string_view side, bool dotted_tail_allowed, std::string_view whole) {
    std::vector<std::uint16_t> groups;
    if (side.empty()) return groups;
    for (std::string_view rest = side;;) {
        auto colon = rest.find(':');
        auto part = rest.substr(0, colon);
        bool last = colon == std::string_view::npos;
        if (last && dotted_tail_allowed && part.find('.') != std::string_view::npos) {
            auto quad = parse_dotted_quad(part, whole);
            groups.push_back(static_cast<std::uint16_t>(quad >> 16));
            groups.push_back(static_cast<std::uint16_t>(quad));
            return groups;
        }
        auto group = parse_group(part);
        if (!group && part.empty()) reject(whole, "an IPv6 group is empty (only one \"::\" may stand for zeros)");
        if (!group) reject(whole, "an IPv6 group is not 1 to 4 hex digits");
        groups.push_back(*group);
        if (last) return groups;
        rest.remove_prefix(colon + 1);
    }
}

Uint128 parse_ipv6(std::string_view text) {
    // The longest form: eight groups of four, or six and a dotted quad.
    if (text.size() > 45) reject(text, "too long for an IPv6 address");
    if (text.find('%') != std::string_view::npos) {
        reject(text, "zone ids (%...) are not accepted; give the address alone");
    }
    auto gap = text.find("::");
    std::vector<std::uint16_t> groups;
    if (gap == std::string_view::npos) {
        groups = parse_groups(text, true, text);
        if (groups.size() != 8) reject(text, "expected 8 IPv6 groups, got " + std::to_string(groups.size()));
    } else {
        auto right_text = text.substr(gap + 2);
        if (right_text.find("::") != std::string_view::npos) reject(text, "\"::\" may appear only once");
        auto left = parse_groups(text.substr(0, gap), false, text);
        auto right = parse_groups(right_text, true, text);
        if (left.size() + right.size() > 7) reject(text, "too many IPv6 groups around \"::\"");
        groups = left;
        groups.resize(8 - right.size(), 0);
        groups.insert(groups.end(), right.begin(), right.end());
    }
    Uint128 value = 0;
    for (auto group : groups) value = value << 16 | group;
    return value;
}

// RFC 5952: lower-case hex without leading zeros, the longest run of two or
// more zero groups (the first of equals) as "::", and IPv4-mapped addresses
// ending in their dotted quad.
std::string format_ipv6(IpAddress address) {
    auto value = address.value();
    if (address.is_v4_mapped()) return "::ffff:" + dotted(static_cast<std::uint32_t>(value));
    std::array<std::uint16_t, 8> groups{};
    for (int i = 0; i < 8; ++i) groups[static_cast<std::size_t>(i)] = static_cast<std::uint16_t>(value >> (112 - 16 * i));
    int best_start = -1, best_length = 1;
    for (int i = 0; i < 8;) {
        if (groups[static_cast<std::size_t>(i)] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[static_cast<std::size_t>(j)] == 0) ++j;
        if (j - i > best_length) best_start = i, best_length = j - i;
        i = j;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_length - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        auto group = groups[static_cast<std::size_t>(i)];
        bool leading = true;
        for (int shift = 12; shift >= 0; shift -= 4) {
            auto digit = (group >> shift) & 0xf;
            if (leading && digit == 0 && shift != 0) continue;
            leading = false;
            out += hex[digit];
        }
    }
    return out;
}

// "address/n" split at its one slash, the length checked against the
// address's family; rejects anything else.
std::pair<IpAddress, int> split_prefix(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) reject(text, "expected address/prefix, like 10.1.0.0/24 or fd00:1::/64");
    auto address = IpAddress::parse(text.substr(0, slash));
    auto max = static_cast<unsigned>(address.bit_width());
    unsigned prefix = 0;
    if (auto why = parse_decimal(text.substr(slash + 1), max, prefix)) {
        reject(text, "the prefix length " + *why + " (it must be 0 to " + std::to_string(max) + ")");
    }
    return {address, static_cast<int>(prefix)};
}

void check_prefix_fits(IpAddress address, int prefix_len) {
    if (prefix_len < 0 || prefix_len > address.bit_width()) {
        fail(ErrorCode::invalid, "prefix length must be 0 to " + std::to_string(address.bit_width()) + ", not " +
                                     std::to_string(prefix_len));
    }
}

} // namespace

IpAddress IpAddress::parse(std::string_view text) {
    if (text.find(':') != std::string_view::npos) return IpAddress(Family::v6, parse_ipv6(text));
    return v4(parse_dotted_quad(text, text));
}

IpAddress IpAddress::from_bytes(const std::uint8_t* bytes, std::size_t size) {
    Uint128 value = 0;
    for (std::size_t i = 0; i < size; ++i) value = value << 8 | bytes[i];
    return IpAddress(size == 4 ? Family::v4 : Family::v6, value);
}

std::array<std::uint8_t, 16> IpAddress::bytes() const {
    std::array<std::uint8_t, 16> out{};
    auto size = byte_size();
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(value_ >> (8 * (size - 1 - i)));
    return out;
}

std::string IpAddress::to_string() const {
    return family_ == Family::v4 ? dotted(v4_value()) : format_ipv6(*this);
}

Cidr::Cidr(IpAddress network, int prefix_len) : network_(network), prefix_len_(prefix_len) {
    check_prefix_fits(network, prefix_len);
    auto masked = containing(network, prefix_len);
    if (masked != *this) {
        reject(network.to_string() + "/" + std::to_string(prefix_len),
               "host bits are set (did you mean " + masked.to_string() + "?)");
    }
}

Cidr Cidr::containing(IpAddress address, int prefix_len) {
    check_prefix_fits(address, prefix_len);
    Cidr out;
    out.network_ = IpAddress(address.family(), address.value() & prefix_mask(address.family(), prefix_len));
    out.prefix_len_ = prefix_len;
    return out;
}

Cidr Cidr::parse(std::string_view text) {
    auto [address, prefix] = split_prefix(text);
    return Cidr(address, prefix);
}

std::string Cidr::to_string() const { return network_.to_string() + "/" + std::to_string(prefix_len_); }

InterfaceAddress::InterfaceAddress(IpAddress address, int prefix_len) : address_(address), prefix_len_(prefix_len) {
    check_prefix_fits(address, prefix_len);
}

InterfaceAddress InterfaceAddress::parse(std::string_view text) {
    auto [address, prefix] = split_prefix(text);
    return InterfaceAddress(address, prefix);
}

InterfaceAddress InterfaceAddress::first_host_of(const Cidr& network) {
    // A /31 is a point-to-point link whose two addresses are both hosts
    // (RFC 3021), as is an IPv6 /127 (RFC 6164), and a full-length prefix
    // is a single host: none has a network address to skip.
    auto offset = network.prefix_len() >= network.network().bit_width() - 1 ? 0u : 1u;
    return InterfaceAddress(IpAddress(network.family(), network.network().value() + offset), network.prefix_len());
}

Cidr InterfaceAddress::network() const { return Cidr::containing(address_, prefix_len_); }

std::string InterfaceAddress::to_string() const { return address_.to_string() + "/" + std::to_string(prefix_len_); }

Cidr unique_local_prefix(std::uint64_t random) {
    auto global_id = Uint128{random & ((std::uint64_t{1} << 40) - 1)};
    return Cidr(IpAddress(Family::v6, (Uint128{0xfd} << 120) | (global_id << 80)), 48);
}

void check_prefix_len(int prefix_len, int min, int max) {
    if (prefix_len < min || prefix_len > max) {
        fail(ErrorCode::invalid, "the prefix length must be from " + std::to_string(min) + " to " +
                                     std::to_string(max) + ", not " + std::to_string(prefix_len));
    }
}

void check_family(const Cidr& range, Family family, const std::string& what) {
    if (range.family() != family) {
        fail(ErrorCode::invalid, what + " " + range.to_string() + " is not " + name_of(family));
    }
}

void check_assignable(const Cidr& range) {
    // Inside ::ffff:0:0/96.
    if (range.prefix_len() >= 96 && range.network().is_v4_mapped()) {
        fail(ErrorCode::invalid, range.to_string() +
                                     " is IPv4-mapped (::ffff:0:0/96); give the IPv4 range itself instead");
    }
}

void check_host_address(const InterfaceAddress& address) {
    struct Special {
        const char* range;
        const char* what;
    };
    static const Special specials[] = {
        {"0.0.0.0/8", "unspecified (\"this network\", 0.0.0.0/8)"},
        {"127.0.0.0/8", "loopback (127.0.0.0/8), which only lo serves"},
        {"224.0.0.0/4", "multicast (224.0.0.0/4)"},
        {"240.0.0.0/4", "reserved (240.0.0.0/4, with the broadcast 255.255.255.255)"},
        {"::/128", "unspecified (::)"},
        {"::1/128", "loopback (::1), which only lo serves"},
        {"ff00::/8", "multicast (ff00::/8)"},
    };
    for (const auto& special : specials) {
        if (Cidr::parse(special.range).contains(address.address())) {
            fail(ErrorCode::invalid, address.address().to_string() + " is " + special.what +
                                         "; no interface may hold it");
        }
    }
}

} // namespace netd::net
