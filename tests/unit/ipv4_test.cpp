#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "netd/net/interface_name.hpp"
#include "netd/net/ipv4.hpp"

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

class Ipv4Parse : public ::testing::TestWithParam<ParseCase> {};
TEST_P(Ipv4Parse, StrictDottedQuad) {
    check(GetParam(), [](std::string_view text) { return Ipv4::parse(text).to_string(); });
}
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
                      ParseCase{"10.0.0.0", "expected a.b.c.d/prefix"},
                      ParseCase{"10.0.0.0/8/8", "the prefix length is not a decimal number"},
                      ParseCase{"10.0.0.0/8 ", "the prefix length is not a decimal number"},
                      ParseCase{"10.1/16", "expected 4 octets, got 2"},
                      ParseCase{"010.0.0.0/8", "octet 1 has a leading zero"}));

TEST(Cidr, DerivedAddresses) {
    struct Case {
        const char* cidr;
        const char* netmask;
        const char* broadcast;
        std::uint64_t size;
    };
    for (const auto& c : std::vector<Case>{{"0.0.0.0/0", "0.0.0.0", "255.255.255.255", 1ull << 32},
                                           {"10.0.0.0/8", "255.0.0.0", "10.255.255.255", 1ull << 24},
                                           {"10.0.0.0/24", "255.255.255.0", "10.0.0.255", 256},
                                           {"10.0.0.2/31", "255.255.255.254", "10.0.0.3", 2},
                                           {"10.0.0.7/32", "255.255.255.255", "10.0.0.7", 1}}) {
        auto cidr = Cidr::parse(c.cidr);
        EXPECT_EQ(cidr.netmask().to_string(), c.netmask) << c.cidr;
        EXPECT_EQ(cidr.broadcast().to_string(), c.broadcast) << c.cidr;
        EXPECT_EQ(cidr.last(), cidr.broadcast()) << c.cidr;
        EXPECT_EQ(cidr.size(), c.size) << c.cidr;
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
                                           {"10.1.0.0/24", "11.1.0.0/24", false, false}}) {
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
                                           {"10.0.0.9/32", "10.0.0.9/32"}}) {
        auto host = InterfaceAddress::first_host_of(Cidr::parse(c.network));
        EXPECT_EQ(host.to_string(), c.first_host);
        EXPECT_EQ(host.network(), Cidr::parse(c.network));
        EXPECT_EQ(InterfaceAddress::parse(c.first_host), host);
    }
    EXPECT_NE(rejection([] { InterfaceAddress::parse("10.0.0.1"); }).find("expected a.b.c.d/prefix"), std::string::npos);
    EXPECT_NE(rejection([] { InterfaceAddress::parse("10.0.0.1/40"); }).find("over 32"), std::string::npos);
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
                                           {"t\xc3\xbcn", "printable ASCII"}}) {
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
