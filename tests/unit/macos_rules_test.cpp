// The macOS backends' rules, checked on whatever OS builds the tests.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

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

// XNU in.c: on a point-to-point interface the broadcast field is the
// destination, and only that host is routed; a utun's is its own address.
TEST(AliasRequest, PointToPointDestinationIsTheAddressItself) {
    auto request = point_to_point_alias_request("utun3", net::InterfaceAddress::parse("10.0.0.1/24"));
    EXPECT_EQ(request.address.address, (std::array<std::uint8_t, 4>{10, 0, 0, 1}));
    EXPECT_EQ(request.broadcast.address, (std::array<std::uint8_t, 4>{10, 0, 0, 1})) << "ifra_dstaddr";
    EXPECT_EQ(request.broadcast.len, 16);
    EXPECT_EQ(request.broadcast.family, 2);
    EXPECT_EQ(request.netmask.address, (std::array<std::uint8_t, 4>{255, 255, 255, 0}));
}

// XNU in.c: SIOCAIFADDR of an address held already succeeds, so it is
// refused before the call, wherever it is held.
TEST(CheckAddressFree, AnAddressHeldAnywhereIsAConflict) {
    std::vector<HostAddress> host{{"lo0", net::InterfaceAddress::parse("127.0.0.1/8")},
                                  {"lo0", net::InterfaceAddress::parse("10.1.0.1/24")},
                                  {"en0", net::InterfaceAddress::parse("192.168.1.20/24")}};
    for (const char* taken : {"10.1.0.1/24", "10.1.0.1/16", "192.168.1.20/32"}) {
        try {
            check_address_free(host, net::InterfaceAddress::parse(taken));
            ADD_FAILURE() << taken << " was free";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::conflict) << taken;
            EXPECT_NE(std::string(error.what()).find(" already"), std::string::npos) << error.what();
        }
    }
    EXPECT_NO_THROW(check_address_free(host, net::InterfaceAddress::parse("10.1.1.1/24")));
    EXPECT_NO_THROW(check_address_free(host, net::InterfaceAddress::parse("192.168.1.21/24"))) << "same network";
    EXPECT_NO_THROW(check_address_free({}, net::InterfaceAddress::parse("10.1.0.1/24")));
}

// XNU if.c: SIOCSIFMTU below IF_MINMTU (72) is EINVAL; refused first, as 400.
TEST(CheckMtu, MacosMinimumIs72) {
    EXPECT_NO_THROW(check_mtu(72));
    EXPECT_NO_THROW(check_mtu(1500));
    EXPECT_NO_THROW(check_mtu(65535));
    try {
        check_mtu(68);
        ADD_FAILURE() << "68 was accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::invalid);
        EXPECT_NE(std::string(error.what()).find("72"), std::string::npos) << error.what();
    }
}

// XNU if_utun.c, utun_ctl_setup: EBUSY is a taken unit, or none free.
TEST(UtunBusy, SaysWhichCase) {
    EXPECT_EQ(utun_busy_message(8), "interface utun7 already exists");
    EXPECT_EQ(utun_busy_message(1), "interface utun0 already exists");
    EXPECT_EQ(utun_busy_message(0), "no utun unit is free");
}

// XNU rtsock.c, route_output: an rt_msghdr (version 5) and the sockaddrs
// rtm_addrs names, in RTAX order, each rounded up to 4 bytes.
TEST(RouteAddMessage, IsTheBytesOfAnRtmAdd) {
    auto message = route_add_message(7, net::Cidr::parse("10.0.3.0/24"), 42);
    ASSERT_EQ(message.size(), rt_msghdr_size + 16 + 20 + 16);
    auto u16 = [&](std::size_t at) { return message[at] | message[at + 1] << 8; };
    auto u32 = [&](std::size_t at) {
        return static_cast<std::uint32_t>(u16(at)) | static_cast<std::uint32_t>(u16(at + 2)) << 16;
    };
    EXPECT_EQ(u16(0), static_cast<int>(message.size())) << "rtm_msglen";
    EXPECT_EQ(message[2], 5) << "RTM_VERSION";
    EXPECT_EQ(message[3], 1) << "RTM_ADD";
    EXPECT_EQ(u16(4), 7) << "rtm_index";
    EXPECT_EQ(u32(8), 0x1u | 0x800u) << "RTF_UP | RTF_STATIC, no RTF_GATEWAY: the interface itself";
    EXPECT_EQ(u32(12), 0x7u) << "RTA_DST | RTA_GATEWAY | RTA_NETMASK";
    EXPECT_EQ(u32(20), 42u) << "rtm_seq";
    const auto* dst = message.data() + rt_msghdr_size;
    EXPECT_EQ(std::vector<std::uint8_t>(dst, dst + 8), (std::vector<std::uint8_t>{16, 2, 0, 0, 10, 0, 3, 0}));
    const auto* link = dst + 16;
    EXPECT_EQ(link[0], 20) << "sdl_len";
    EXPECT_EQ(link[1], 18) << "AF_LINK";
    EXPECT_EQ(link[2] | link[3] << 8, 7) << "sdl_index";
    const auto* mask = link + 20;
    EXPECT_EQ(std::vector<std::uint8_t>(mask, mask + 8), (std::vector<std::uint8_t>{16, 2, 0, 0, 255, 255, 255, 0}));
}

// XNU rtsock.c, sysctl_dumpentry: NET_RT_DUMP lists clones too.
TEST(RouteOccupies, NotDefaultLikeNorCloned) {
    EXPECT_TRUE(route_occupies(24, 0));
    EXPECT_TRUE(route_occupies(32, rtf_host));
    EXPECT_TRUE(route_occupies(2, 0));
    EXPECT_FALSE(route_occupies(1, 0));
    EXPECT_FALSE(route_occupies(0, 0));
    EXPECT_FALSE(route_occupies(32, rtf_host | rtf_wascloned)) << "a clone of the default route for one host";
}

TEST(TcpEnd, Ipv4IsMappedAndLoopbackIsKnown) {
    auto v4 = tcp_end_v4({127, 0, 0, 1}, 3030);
    EXPECT_EQ(v4, tcp_end_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}, 3030));
    EXPECT_NE(v4, tcp_end_v4({127, 0, 0, 1}, 3031));
    EXPECT_TRUE(is_loopback(v4));
    EXPECT_TRUE(is_loopback(tcp_end_v4({127, 9, 8, 7}, 1)));
    EXPECT_TRUE(is_loopback(tcp_end_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 1)));
    EXPECT_FALSE(is_loopback(tcp_end_v4({10, 0, 0, 1}, 1)));
    EXPECT_FALSE(is_loopback(tcp_end_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 1}, 1))) << "::127.0.0.1";
}

TEST(SoleOwner, OneUidOrNobody) {
    EXPECT_FALSE(sole_owner({}).has_value()) << "not found";
    auto one = sole_owner({{501, 42}});
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(one->uid, 501u);
    EXPECT_EQ(one->pid, 42);
    auto forked = sole_owner({{501, 42}, {501, 43}});
    ASSERT_TRUE(forked.has_value()) << "a socket shared across a fork";
    EXPECT_EQ(forked->uid, 501u);
    EXPECT_FALSE(forked->pid.has_value()) << "two processes: no one pid";
    EXPECT_FALSE(sole_owner({{501, 42}, {0, 1}}).has_value()) << "two owners: unsure";
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
