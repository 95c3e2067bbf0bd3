#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// IPv4 value types. Parsing is strict on purpose: "010.1.1.1" means 8.1.1.1 to
// inet_aton and 10.1.1.1 to a human, so anything but a canonical dotted quad is
// rejected with a netd::Error(invalid) that says what is wrong.
namespace netd::net {

class Ipv4 {
public:
    constexpr Ipv4() = default;
    constexpr explicit Ipv4(std::uint32_t host_order) : value_(host_order) {}

    static Ipv4 parse(std::string_view text);

    constexpr std::uint32_t value() const { return value_; }
    std::string to_string() const;

    friend constexpr auto operator<=>(Ipv4, Ipv4) = default;

private:
    std::uint32_t value_ = 0;
};

// The mask for a prefix length 0..32, e.g. 24 -> 255.255.255.0.
constexpr std::uint32_t prefix_mask(int prefix_len) {
    return prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len);
}

// A network: an address with its host bits zero and a prefix length.
class Cidr {
public:
    constexpr Cidr() = default;
    // Throws invalid when host bits are set or the prefix is out of range.
    Cidr(Ipv4 network, int prefix_len);

    static Cidr parse(std::string_view text);

    constexpr Ipv4 network() const { return network_; }
    constexpr int prefix_len() const { return prefix_len_; }
    constexpr Ipv4 netmask() const { return Ipv4(prefix_mask(prefix_len_)); }
    constexpr Ipv4 broadcast() const { return Ipv4(network_.value() | ~prefix_mask(prefix_len_)); }
    constexpr Ipv4 first() const { return network_; }
    constexpr Ipv4 last() const { return broadcast(); }
    // 2^(32 - prefix), as 64 bits so that /0 fits.
    constexpr std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix_len_); }

    constexpr bool contains(Ipv4 address) const {
        return (address.value() & prefix_mask(prefix_len_)) == network_.value();
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
    Ipv4 network_;
    int prefix_len_ = 0;
};

// An address configured on an interface: the address and the prefix of the
// network it sits in, as in "10.0.0.1/24". Host bits are what it is about.
class InterfaceAddress {
public:
    constexpr InterfaceAddress() = default;
    InterfaceAddress(Ipv4 address, int prefix_len);

    static InterfaceAddress parse(std::string_view text);
    // The first host of a network: 10.0.0.0/24 -> 10.0.0.1/24.
    static InterfaceAddress first_host_of(const Cidr& network);

    constexpr Ipv4 address() const { return address_; }
    constexpr int prefix_len() const { return prefix_len_; }
    Cidr network() const;

    std::string to_string() const;

    friend constexpr auto operator<=>(const InterfaceAddress&, const InterfaceAddress&) = default;

private:
    Ipv4 address_;
    int prefix_len_ = 32;
};

// Throws invalid unless min <= prefix_len <= max, saying so.
void check_prefix_len(int prefix_len, int min, int max);

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
