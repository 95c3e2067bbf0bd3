// The macOS backends' rules, checked on whatever OS builds the tests.

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>

#include "macos_rules.hpp"
#include "netd/error.hpp"

namespace netd::platform::macos {
namespace {

struct UnitCase {
    std::string name;
    std::optional<std::uint32_t> unit;
};

class UtunUnitTest : public ::testing::TestWithParam<UnitCase> {};

TEST_P(UtunUnitTest, ParsesUtunNames) { EXPECT_EQ(utun_unit(GetParam().name), GetParam().unit) << GetParam().name; }

INSTANTIATE_TEST_SUITE_P(Table, UtunUnitTest,
                         ::testing::Values(UnitCase{"utun0", 0u}, UnitCase{"utun3", 3u}, UnitCase{"utun4094", 4094u},
                                           UnitCase{"utun4294967294", 4294967294u},
                                           UnitCase{"utun4294967295", std::nullopt}, // sc_unit would overflow
                                           UnitCase{"utun99999999999", std::nullopt}, UnitCase{"utun", std::nullopt},
                                           UnitCase{"utun03", std::nullopt}, UnitCase{"utun-1", std::nullopt},
                                           UnitCase{"utun3 ", std::nullopt}, UnitCase{"tun0", std::nullopt},
                                           UnitCase{"UTUN1", std::nullopt}, UnitCase{"", std::nullopt}));

TEST(UtunControlUnit, NextFreeOrNPlusOne) {
    EXPECT_EQ(utun_control_unit(std::nullopt), 0u);
    EXPECT_EQ(utun_control_unit("utun0"), 1u);
    EXPECT_EQ(utun_control_unit("utun7"), 8u);
}

TEST(UtunControlUnit, OtherNamesAreInvalidWithAnExplanation) {
    for (const std::string name : {"tun0", "wg0", "utun", "utun01"}) {
        try {
            utun_control_unit(name);
            ADD_FAILURE() << name << " was accepted";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::invalid) << name;
            EXPECT_NE(std::string(error.what()).find("named utunN"), std::string::npos) << error.what();
        }
    }
}

TEST(AliasRequest, IsTheBytesOfAnIfaliasreq) {
    auto request = alias_request("utun3", net::InterfaceAddress::parse("10.0.0.1/24"));
    const auto* bytes = reinterpret_cast<const unsigned char*>(&request);
    EXPECT_STREQ(request.interface.data(), "utun3");
    auto expect_sockaddr = [&](std::size_t offset, std::array<unsigned char, 4> address, const char* what) {
        EXPECT_EQ(bytes[offset], 16) << what << ": sin_len";
        EXPECT_EQ(bytes[offset + 1], 2) << what << ": sin_family AF_INET";
        EXPECT_EQ(bytes[offset + 2], 0) << what << ": port";
        EXPECT_EQ(bytes[offset + 3], 0) << what << ": port";
        EXPECT_EQ(std::memcmp(bytes + offset + 4, address.data(), 4), 0) << what;
        for (std::size_t i = offset + 8; i < offset + 16; ++i) EXPECT_EQ(bytes[i], 0) << what << ": sin_zero";
    };
    expect_sockaddr(16, {10, 0, 0, 1}, "ifra_addr");
    expect_sockaddr(32, {10, 0, 0, 255}, "ifra_broadaddr");
    expect_sockaddr(48, {255, 255, 255, 0}, "ifra_mask");
}

TEST(AliasRequest, OnLo0WithAnOddPrefix) {
    auto request = alias_request("lo0", net::InterfaceAddress::parse("172.16.4.1/22"));
    EXPECT_EQ(request.broadcast.address, (std::array<std::uint8_t, 4>{172, 16, 7, 255}));
    EXPECT_EQ(request.netmask.address, (std::array<std::uint8_t, 4>{255, 255, 252, 0}));
}

TEST(AliasRequest, NamesMustFitIfnamsiz) {
    EXPECT_THROW(alias_request("", net::InterfaceAddress::parse("10.0.0.1/24")), Error);
    EXPECT_THROW(alias_request("a-name-of-16-chr", net::InterfaceAddress::parse("10.0.0.1/24")), Error);
    EXPECT_NO_THROW(alias_request("name-of-15-chrs", net::InterfaceAddress::parse("10.0.0.1/24")));
}

TEST(Lo0Labels, NumberedInNetworkOrderFromZero) {
    auto labels = lo0_labels({net::Cidr::parse("10.2.0.0/24"), net::Cidr::parse("10.1.0.0/24"),
                              net::Cidr::parse("10.1.0.0/24"), net::Cidr::parse("192.168.0.0/16")});
    ASSERT_EQ(labels.size(), 3u);
    EXPECT_EQ(labels.at(net::Cidr::parse("10.1.0.0/24")), "lo0:0");
    EXPECT_EQ(labels.at(net::Cidr::parse("10.2.0.0/24")), "lo0:1");
    EXPECT_EQ(labels.at(net::Cidr::parse("192.168.0.0/16")), "lo0:2");
    EXPECT_TRUE(lo0_labels({}).empty());
}

} // namespace
} // namespace netd::platform::macos
