#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// IP value types, one for both families, so that parsing, overlap and
// allocation are written once. IPv4 parsing is strict on purpose: "010.1.1.1"
// means 8.1.1.1 to inet_aton and 10.1.1.1 to a human, so anything but a
// canonical dotted quad is rejected. IPv6 accepts every RFC 4291 text form
// and prints the one RFC 5952 prescribes. Errors are netd::Error(invalid)
// that say what is wrong.
namespace netd::net {

// The 128-bit unsigned integer GCC and Clang provide; __extension__ keeps
// -Wpedantic quiet about it.
__extension__ typedef unsigned __int128 Uint128;

enum class Family : std::uint8_t { v4, v6 };

constexpr int bit_width(Family family) { return family == Family::v4 ? 32 : 128; }
constexpr const char* name_of(Family family) { return family == Family::v4 ? "IPv4" : "IPv6"; }

constexpr Uint128 all_ones(Family family) { return family == Family::v4 ? Uint128{0xffffffff} : ~Uint128{0}; }

// The mask for a prefix length, e.g. (v4, 24) -> 255.255.255.0.
constexpr Uint128 prefix_mask(Family family, int prefix_len) {
    return prefix_len == 0 ? 0 : (all_ones(family) << (bit_width(family) - prefix_len)) & all_ones(family);
}

class IpAddress {
public:
    constexpr IpAddress() = default; // 0.0.0.0
    // Bits beyond the family's width are dropped.
    constexpr IpAddress(Family family, Uint128 value) : family_(family), value_(value & all_ones(family)) {}
    static constexpr IpAddress v4(std::uint32_t value) { return IpAddress(Family::v4, value); }

    // A dotted quad, or IPv6 text when it holds a colon.
    static IpAddress parse(std::string_view text);
    // From 4 or 16 bytes in network order, as the kernel hands them over.
    static IpAddress from_bytes(const std::uint8_t* bytes, std::size_t size);

    constexpr Family family() const { return family_; }
    constexpr int bit_width() const { return net::bit_width(family_); }
    constexpr Uint128 value() const { return value_; }
    constexpr std::uint32_t v4_value() const { return static_cast<std::uint32_t>(value_); }
    // Network order; the first byte_size() of them are the address.
    std::array<std::uint8_t, 16> bytes() const;
    constexpr std::size_t byte_size() const { return static_cast<std::size_t>(bit_width() / 8); }
    // ::ffff:a.b.c.d, an IPv4 address in IPv6 clothing.
    constexpr bool is_v4_mapped() const { return family_ == Family::v6 && value_ >> 32 == 0xffff; }

    std::string to_string() const;

    friend constexpr auto operator<=>(const IpAddress&, const IpAddress&) = default;

private:
    Family family_ = Family::v4;
    Uint128 value_ = 0;
};

// A network: an address with its host bits zero and a prefix length.
class Cidr {
public:
    constexpr Cidr() = default;
    // Throws invalid when host bits are set or the prefix is out of range.
    Cidr(IpAddress network, int prefix_len);

    static Cidr parse(std::string_view text);

    constexpr Family family() const { return network_.family(); }
    constexpr IpAddress network() const { return network_; }
    constexpr int prefix_len() const { return prefix_len_; }
    constexpr IpAddress netmask() const { return IpAddress(family(), prefix_mask(family(), prefix_len_)); }
    constexpr IpAddress first() const { return network_; }
    constexpr IpAddress last() const {
        return IpAddress(family(), network_.value() | ~prefix_mask(family(), prefix_len_));
    }
    // IPv4's broadcast address: the last one.
    constexpr IpAddress broadcast() const { return last(); }
    // The /prefix_len network that holds `address`.
    static Cidr containing(IpAddress address, int prefix_len);

    constexpr bool contains(IpAddress address) const {
        return address.family() == family() &&
               (address.value() & prefix_mask(family(), prefix_len_)) == network_.value();
    }
    constexpr bool contains(const Cidr& other) const {
        return other.prefix_len_ >= prefix_len_ && contains(other.network_);
    }
    constexpr bool overlaps(const Cidr& other) const {
        return contains(other.network_) || other.contains(network_);
    }

    std::string to_string() const;

    friend constexpr auto operator<=>(const Cidr&, const Cidr&) = default;

private:
    IpAddress network_;
    int prefix_len_ = 0;
};

// An address configured on an interface: the address and the prefix of the
// network it sits in, as in "10.0.0.1/24". Host bits are what it is about.
class InterfaceAddress {
public:
    constexpr InterfaceAddress() = default;
    InterfaceAddress(IpAddress address, int prefix_len);

    static InterfaceAddress parse(std::string_view text);
    // The first host of a network: 10.0.0.0/24 -> 10.0.0.1/24.
    static InterfaceAddress first_host_of(const Cidr& network);

    constexpr Family family() const { return address_.family(); }
    constexpr IpAddress address() const { return address_; }
    constexpr int prefix_len() const { return prefix_len_; }
    Cidr network() const;

    std::string to_string() const;

    friend constexpr auto operator<=>(const InterfaceAddress&, const InterfaceAddress&) = default;

private:
    IpAddress address_;
    int prefix_len_ = 32;
};

// A unique local /48 (RFC 4193): fd00::/8 followed by a 40-bit global id,
// of which the low 40 bits of `random` are used.
Cidr unique_local_prefix(std::uint64_t random);

// Throws invalid unless min <= prefix_len <= max, saying so.
void check_prefix_len(int prefix_len, int min, int max);

// Throws invalid unless `range` is of `family`; `what` names it, e.g. "--pool".
void check_family(const Cidr& range, Family family, const std::string& what);

// Throws invalid for what cannot go on an interface as given: an
// IPv4-mapped IPv6 range is IPv4 traffic, which the IPv4 address serves.
void check_assignable(const Cidr& range);

// Throws invalid for an address that no interface may hold as its own:
// unspecified (0.0.0.0/8, ::), loopback (127.0.0.0/8, ::1, which only lo
// serves), multicast (224.0.0.0/4, ff00::/8), and IPv4's reserved
// 240.0.0.0/4 with the limited broadcast 255.255.255.255. Routes may still
// point at such ranges (a multicast route through a TUN is normal).
void check_host_address(const InterfaceAddress& address);

// Lists of Cidr or InterfaceAddress to and from their text.
template <typename Range>
std::vector<std::string> to_strings(const std::vector<Range>& ranges) {
    std::vector<std::string> texts;
    for (const auto& range : ranges) texts.push_back(range.to_string());
    return texts;
}

template <typename Range>
std::vector<Range> parse_all(const std::vector<std::string>& texts) {
    std::vector<Range> ranges;
    for (const auto& text : texts) ranges.push_back(Range::parse(text));
    return ranges;
}

} // namespace netd::net
