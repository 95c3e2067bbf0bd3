#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "netd/net/interface_name.hpp"
#include "netd/net/ip.hpp"

namespace netd::net {
namespace {

// The message of the invalid error `parse` throws, or "" when it accepts.
template <typename Parse>
std::string rejection(Parse parse) {
    try {
        parse();
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::invalid);
        return error.what();
    }
    return "";
}

struct ParseCase {
    std::string input;
    const char* error; // a fragment of the message, or nullptr when valid

    friend void PrintTo(const ParseCase& c, std::ostream* out) { *out << ::testing::PrintToString(c.input); }
};

void check(const ParseCase& c, const std::function<std::string(std::string_view)>& parse_and_format) {
    std::string formatted;
    auto message = rejection([&] { formatted = parse_and_format(c.input); });
    if (!c.error) {
        EXPECT_EQ(message, "") << "rejected \"" << c.input << "\"";
        EXPECT_EQ(formatted, c.input) << "does not round-trip";
    } else {
        EXPECT_NE(message.find(c.error), std::string::npos) << "\"" << c.input << "\" gave: " << message;
    }
}

std::string formatted(std::string_view text) { return IpAddress::parse(text).to_string(); }

class Ipv4Parse : public ::testing::TestWithParam<ParseCase> {};
TEST_P(Ipv4Parse, StrictDottedQuad) { check(GetParam(), formatted); }
INSTANTIATE_TEST_SUITE_P(
    Table, Ipv4Parse,
    ::testing::Values(ParseCase{"0.0.0.0", nullptr}, ParseCase{"255.255.255.255", nullptr},
                      ParseCase{"10.0.0.1", nullptr}, ParseCase{"192.168.100.200", nullptr},
                      ParseCase{"", "octet 1 is empty"}, ParseCase{" 10.0.0.1", "octet 1 is not a decimal number"},
                      ParseCase{"10.0.0.1 ", "octet 4 is not a decimal number"},
                      ParseCase{"10.0.0.1\n", "octet 4 is not a decimal number"},
                      ParseCase{"10.0.0", "expected 4 octets, got 3"}, ParseCase{"10.1", "expected 4 octets, got 2"},
                      ParseCase{"10.0.0.0.1", "expected 4 octets, got 5"}, ParseCase{"256.0.0.1", "octet 1 is over 255"},
                      ParseCase{"1.2.3.-1", "octet 4 is not a decimal number"},
                      ParseCase{"+1.2.3.4", "octet 1 is not a decimal number"},
                      ParseCase{"01.2.3.4", "octet 1 has a leading zero"},
                      ParseCase{"10.01.0.1", "octet 2 has a leading zero"},
                      ParseCase{"1.2.3.00", "octet 4 has a leading zero"},
                      ParseCase{"0x1.2.3.4", "octet 1 has a leading zero"},
                      ParseCase{"1..2.3", "octet 2 is empty"}, ParseCase{"1.2.3.", "octet 4 is empty"},
                      ParseCase{"\xef\xbc\x91.2.3.4", "not a decimal number"},
                      ParseCase{std::string("1.2.3.4\0", 8), "not a decimal number"},
                      ParseCase{std::string(4000, '9'), "too long"}, ParseCase{"99999999999.1", "octet 1 is over 255"}));

// Canonical RFC 5952 text round-trips; errors say what is wrong.
class Ipv6Parse : public ::testing::TestWithParam<ParseCase> {};
TEST_P(Ipv6Parse, Rfc5952) { check(GetParam(), formatted); }
INSTANTIATE_TEST_SUITE_P(
    Table, Ipv6Parse,
    ::testing::Values(ParseCase{"::", nullptr}, ParseCase{"::1", nullptr}, ParseCase{"fd00::", nullptr},
                      ParseCase{"fd12:3456:789a:1::", nullptr}, ParseCase{"2001:db8::1", nullptr},
                      ParseCase{"1:2:3:4:5:6:7:8", nullptr},
                      // One zero group is never "::" (RFC 5952 4.2.2).
                      ParseCase{"2001:db8:0:1:1:1:1:1", nullptr},
                      // Of two equal runs the first is shortened (4.2.3).
                      ParseCase{"2001:db8::1:0:0:1", nullptr}, ParseCase{"::ffff:10.0.0.1", nullptr},
                      ParseCase{"fe80::1%eth0", "zone ids (%...) are not accepted"},
                      ParseCase{"1::2::3", "\"::\" may appear only once"},
                      ParseCase{"1:::2", "an IPv6 group is empty"}, ParseCase{":1:2:3:4:5:6:7", "an IPv6 group is empty"},
                      ParseCase{"1:2:3:4:5:6:7:", "an IPv6 group is empty"},
                      ParseCase{"12345::", "not 1 to 4 hex digits"}, ParseCase{"g::", "not 1 to 4 hex digits"},
                      ParseCase{"1.2.3.4::", "not 1 to 4 hex digits"},
                      ParseCase{"::1.2.3.4:5", "not 1 to 4 hex digits"},
                      ParseCase{"1:2:3:4:5:6:7", "expected 8 IPv6 groups, got 7"},
                      ParseCase{"1:2:3:4:5:6:7:8:9", "expected 8 IPv6 groups, got 9"},
                      ParseCase{"1:2:3:4:5:6:7::8", "too many IPv6 groups"},
                      ParseCase{"::1.2.3", "expected 4 octets, got 3"}, ParseCase{"::ffff:01.2.3.4", "leading zero"},
                      ParseCase{"1:2:3:4:5:6:7:1.2.3.4", "expected 8 IPv6 groups, got 9"},
                      ParseCase{std::string(40, '1') + "::", "not 1 to 4 hex digits"},
                      ParseCase{std::string(46, ':'), "too long for an IPv6 address"}));

TEST(Ipv6, AcceptsEveryFormAndPrintsTheCanonicalOne) {
    struct Case {
        const char* input;
        const char* canonical;
    };
    for (const auto& c : std::vector<Case>{{"FD12::1", "fd12::1"},
                                           {"2001:0db8::0001", "2001:db8::1"},
                                           {"0:0:0:0:0:0:0:1", "::1"},
                                           {"0:0:0:0:0:0:0:0", "::"},
                                           {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
                                           {"2001:db8:0:0:0:0:2:1", "2001:db8::2:1"},
                                           {"2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"},
                                           {"2001:db8::0:1", "2001:db8::1"},
                                           {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
                                           {"::ffff:a00:1", "::ffff:10.0.0.1"},
                                           {"::FFFF:10.0.0.1", "::ffff:10.0.0.1"},
                                           // Only mapped addresses end in a dotted quad.
                                           {"::1.2.3.4", "::102:304"},
                                           {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"}}) {
        auto address = IpAddress::parse(c.input);
        EXPECT_EQ(address.family(), Family::v6) << c.input;
        EXPECT_EQ(address.to_string(), c.canonical) << c.input;
        EXPECT_EQ(IpAddress::parse(c.canonical), address) << c.input;
    }
    EXPECT_TRUE(IpAddress::parse("::ffff:10.0.0.1").is_v4_mapped());
    EXPECT_FALSE(IpAddress::parse("::1.2.3.4").is_v4_mapped());
    EXPECT_FALSE(IpAddress::parse("10.0.0.1").is_v4_mapped());
}

TEST(IpAddress, BytesInNetworkOrder) {
    auto v6 = IpAddress::parse("fd12:3456::1");
    auto bytes = v6.bytes();
    EXPECT_EQ(v6.byte_size(), 16u);
    EXPECT_EQ(bytes[0], 0xfd);
    EXPECT_EQ(bytes[3], 0x56);
    EXPECT_EQ(bytes[15], 0x01);
    EXPECT_EQ(IpAddress::from_bytes(bytes.data(), 16), v6);
    auto v4 = IpAddress::parse("10.1.2.3");
    EXPECT_EQ(v4.byte_size(), 4u);
    EXPECT_EQ(v4.bytes()[0], 10);
    EXPECT_EQ(IpAddress::from_bytes(v4.bytes().data(), 4), v4);
    // The families never compare equal, even with equal bits.
    EXPECT_NE(IpAddress::parse("::a01:203"), v4);
}

class CidrParse : public ::testing::TestWithParam<ParseCase> {};
TEST_P(CidrParse, NetworkWithPrefix) {
    check(GetParam(), [](std::string_view text) { return Cidr::parse(text).to_string(); });
}
INSTANTIATE_TEST_SUITE_P(
    Table, CidrParse,
    ::testing::Values(ParseCase{"10.0.0.0/8", nullptr}, ParseCase{"0.0.0.0/0", nullptr},
                      ParseCase{"10.1.0.1/32", nullptr}, ParseCase{"10.1.0.0/24", nullptr},
                      ParseCase{"10.1.0.1/24", "host bits are set (did you mean 10.1.0.0/24?)"},
                      ParseCase{"10.0.0.0/33", "the prefix length is over 32"},
                      ParseCase{"10.0.0.0/-1", "the prefix length is not a decimal number"},
                      ParseCase{"10.0.0.0/", "the prefix length is empty"},
                      ParseCase{"10.0.0.0/08", "the prefix length has a leading zero"},
                      ParseCase{"10.0.0.0", "expected address/prefix"},
                      ParseCase{"10.0.0.0/8/8", "the prefix length is not a decimal number"},
                      ParseCase{"10.0.0.0/8 ", "the prefix length is not a decimal number"},
                      ParseCase{"10.1/16", "expected 4 octets, got 2"},
                      ParseCase{"010.0.0.0/8", "octet 1 has a leading zero"},
                      ParseCase{"fd00::/8", nullptr}, ParseCase{"::/0", nullptr},
                      ParseCase{"fd12:3456:789a:1::/64", nullptr}, ParseCase{"fd00::1/128", nullptr},
                      ParseCase{"fd00::1/64", "host bits are set (did you mean fd00::/64?)"},
                      ParseCase{"fd00::/129", "the prefix length is over 128 (it must be 0 to 128)"},
                      ParseCase{"fd00::", "expected address/prefix"},
                      ParseCase{"fe80::%lo/64", "zone ids"}));

TEST(Cidr, DerivedAddresses) {
    struct Case {
        const char* cidr;
        const char* netmask;
        const char* broadcast;
    };
    for (const auto& c : std::vector<Case>{{"0.0.0.0/0", "0.0.0.0", "255.255.255.255"},
                                           {"10.0.0.0/8", "255.0.0.0", "10.255.255.255"},
                                           {"10.0.0.0/24", "255.255.255.0", "10.0.0.255"},
                                           {"10.0.0.2/31", "255.255.255.254", "10.0.0.3"},
                                           {"10.0.0.7/32", "255.255.255.255", "10.0.0.7"},
                                           {"fd00::/64", "ffff:ffff:ffff:ffff::", "fd00::ffff:ffff:ffff:ffff"},
                                           {"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
                                           {"fd00::8/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::8"}}) {
        auto cidr = Cidr::parse(c.cidr);
        EXPECT_EQ(cidr.netmask().to_string(), c.netmask) << c.cidr;
        EXPECT_EQ(cidr.last().to_string(), c.broadcast) << c.cidr;
        EXPECT_EQ(cidr.last(), cidr.broadcast()) << c.cidr;
    }
}

TEST(Cidr, ContainsAndOverlaps) {
    struct Case {
        const char* a;
        const char* b;
        bool a_contains_b;
        bool overlap;
    };
    for (const auto& c : std::vector<Case>{{"10.0.0.0/8", "10.1.0.0/24", true, true},
                                           {"10.1.0.0/24", "10.0.0.0/8", false, true},
                                           {"10.1.0.0/24", "10.1.0.0/24", true, true},
                                           {"10.1.0.0/24", "10.1.1.0/24", false, false},
                                           {"10.1.0.0/25", "10.1.0.128/25", false, false},
                                           {"0.0.0.0/0", "192.168.0.0/16", true, true},
                                           {"10.1.0.0/24", "11.1.0.0/24", false, false},
                                           {"fd00::/8", "fd12:3456::/64", true, true},
                                           {"fd12::/64", "fd12:0:0:1::/64", false, false},
                                           {"::/0", "fd00::/8", true, true},
                                           // The families never overlap, whatever their bits.
                                           {"::/0", "0.0.0.0/0", false, false},
                                           {"10.0.0.0/8", "::a00:0/104", false, false}}) {
        auto a = Cidr::parse(c.a), b = Cidr::parse(c.b);
        EXPECT_EQ(a.contains(b), c.a_contains_b) << c.a << " " << c.b;
        EXPECT_EQ(a.overlaps(b), c.overlap) << c.a << " " << c.b;
        EXPECT_EQ(b.overlaps(a), c.overlap) << c.b << " " << c.a;
    }
}

TEST(InterfaceAddress, FirstHostAndNetwork) {
    struct Case {
        const char* network;
        const char* first_host;
    };
    // /31 and /32 have no network address to skip (RFC 3021).
    for (const auto& c : std::vector<Case>{{"10.0.0.0/24", "10.0.0.1/24"},
                                           {"10.1.2.0/23", "10.1.2.1/23"},
                                           {"10.0.0.4/31", "10.0.0.4/31"},
                                           {"10.0.0.9/32", "10.0.0.9/32"},
                                           {"fd00:1::/64", "fd00:1::1/64"},
                                           {"fd00::/127", "fd00::/127"},
                                           {"fd00::5/128", "fd00::5/128"}}) {
        auto host = InterfaceAddress::first_host_of(Cidr::parse(c.network));
        EXPECT_EQ(host.to_string(), c.first_host);
        EXPECT_EQ(host.network(), Cidr::parse(c.network));
        EXPECT_EQ(InterfaceAddress::parse(c.first_host), host);
    }
    EXPECT_NE(rejection([] { InterfaceAddress::parse("10.0.0.1"); }).find("expected address/prefix"), std::string::npos);
    EXPECT_NE(rejection([] { InterfaceAddress::parse("10.0.0.1/40"); }).find("over 32"), std::string::npos);
}

TEST(UniqueLocalPrefix, Rfc4193) {
    struct Case {
        std::uint64_t random;
        const char* prefix;
    };
    // fd, then the low 40 bits of the random number as the global id.
    for (const auto& c : std::vector<Case>{{0x123456789a, "fd12:3456:789a::/48"},
                                           {0xffff'ff12'3456'789a, "fd12:3456:789a::/48"},
                                           {0, "fd00::/48"},
                                           {0xff'ffff'ffff, "fdff:ffff:ffff::/48"}}) {
        EXPECT_EQ(unique_local_prefix(c.random).to_string(), c.prefix);
    }
}

TEST(CheckAssignable, MappedRangesAreRefused) {
    struct Case {
        const char* range;
        const char* error;
    };
    for (const auto& c : std::vector<Case>{{"::ffff:10.0.0.0/120", "IPv4-mapped"},
                                           {"::ffff:0.0.0.0/96", "IPv4-mapped"},
                                           {"::/0", nullptr},
                                           {"fd00::/64", nullptr},
                                           {"10.0.0.0/8", nullptr}}) {
        auto message = rejection([&] { check_assignable(Cidr::parse(c.range)); });
        if (!c.error) {
            EXPECT_EQ(message, "") << c.range;
        } else {
            EXPECT_NE(message.find(c.error), std::string::npos) << c.range << " gave: " << message;
        }
    }
}

TEST(CheckHostAddress, OnlyUnicastAddressesGoOnAnInterface) {
    struct Case {
        const char* address;
        const char* error;
    };
    for (const auto& c : std::vector<Case>{{"10.0.0.1/24", nullptr},
                                           {"100.64.0.1/10", nullptr},
                                           {"223.255.255.254/24", nullptr},
                                           {"224.0.0.1/24", "multicast"},
                                           {"239.255.255.250/32", "multicast"},
                                           {"255.255.255.255/32", "broadcast"},
                                           {"240.0.0.1/24", "reserved"},
                                           {"0.0.0.0/8", "unspecified"},
                                           {"0.1.2.3/24", "unspecified"},
                                           {"127.0.0.2/8", "loopback"},
                                           {"fd00::1/64", nullptr},
                                           {"2001:db8::1/64", nullptr},
                                           {"ff02::1/64", "multicast"},
                                           {"::1/128", "loopback"},
                                           {"::/128", "unspecified"}}) {
        auto message = rejection([&] { check_host_address(InterfaceAddress::parse(c.address)); });
        if (!c.error) {
            EXPECT_EQ(message, "") << c.address;
        } else {
            EXPECT_NE(message.find(c.error), std::string::npos) << c.address << " gave: " << message;
        }
    }
}

TEST(InterfaceName, KernelRules) {
    struct Case {
        std::string name;
        const char* error;
    };
    for (const auto& c : std::vector<Case>{{"tun0", nullptr},
                                           {"utun3", nullptr},
                                           {"vpn-office_2", nullptr},
                                           {"fifteen-chars-x", nullptr},
                                           {"", "must not be empty"},
                                           {"sixteen-chars-xx", "is 16 characters long; the kernel allows at most 15"},
                                           {".", "is reserved"},
                                           {"..", "is reserved"},
                                           {"a/b", "must not contain '/'"},
                                           {"lo:1", "must not contain ':'"},
                                           {"a b", "printable ASCII"},
                                           {"a\tb", "printable ASCII"},
                                           {"tun\n", "printable ASCII"},
                                           {"t\xc3\xbcn", "printable ASCII"},
                                           {"tun%d", "must not contain '%'"},
                                           {"%s", "must not contain '%'"},
                                           {"all", "is reserved"},
                                           {"default", "is reserved"},
                                           {"all0", nullptr},
                                           {"-tun", "must not begin with '-'"},
                                           {"tun-", nullptr},
                                           {std::string("a\0b", 3), "printable ASCII"}}) {
        auto message = rejection([&] { validate_interface_name(c.name); });
        if (!c.error) {
            EXPECT_EQ(message, "") << c.name;
        } else {
            EXPECT_NE(message.find(c.error), std::string::npos) << c.name << " gave: " << message;
        }
    }
}

} // namespace
} // namespace netd::net
