#include <gtest/gtest.h>

#include "case_name.hpp"
#include "netd/error.hpp"
#include "netd/tunnel_forwarding.hpp"
#include "netd/tunnel_wire.hpp"

namespace netd::tunnel {
namespace {

using net::IpAddress;

ServerConfig hub() {
    auto definitions = parse_config(nlohmann::json::parse(R"({
      "name": "corp0", "port": 8080, "net": "10.50.0.1/24", "ips": ["10.50.0.254", "192.0.2.1"],
      "routes": ["172.20.0.0/16"],
      "clients": [
        {"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.50.0.2",
         "routes": ["10.60.0.0/16", "10.61.0.0/24"], "sources": ["192.168.100.10"]},
        {"token": "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33", "ip": "10.50.0.3",
         "routes": ["10.70.0.0/24", "10.60.5.0/24"]}
      ]})"));
    return std::get<ServerConfig>(definitions.at(0));
}

struct RouteCase {
    const char* what;
    const char* source;
    const char* destination;
    std::optional<std::size_t> client;
};

class ServerForwarding : public testing::TestWithParam<RouteCase> {};

TEST_P(ServerForwarding, PicksTheClient) {
    Forwarding forwarding(hub());
    auto [what, source, destination, client] = GetParam();
    EXPECT_EQ(forwarding.client_for({IpAddress::parse(source), IpAddress::parse(destination)}), client) << what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ServerForwarding,
    testing::Values(RouteCase{"a client's address", "10.50.0.1", "10.50.0.2", 0},
                    RouteCase{"the other client's", "10.50.0.1", "10.50.0.3", 1},
                    RouteCase{"a route of one", "10.50.0.1", "10.61.0.9", 0},
                    RouteCase{"the longest route wins", "10.50.0.1", "10.60.5.9", 1},
                    RouteCase{"the shorter where the longer misses", "10.50.0.1", "10.60.6.9", 0},
                    RouteCase{"a source pinned to a client wins", "192.168.100.10", "10.70.0.9", 0},
                    RouteCase{"an unpinned source goes by destination", "192.168.100.11", "10.70.0.9", 1},
                    RouteCase{"nobody's", "10.50.0.1", "10.50.0.9", std::nullopt},
                    RouteCase{"the server's own", "10.50.0.2", "10.50.0.1", std::nullopt},
                    RouteCase{"IPv6 goes nowhere", "fd00::1", "fd00::2", std::nullopt}),
    netd::cases::ByWhat{});

struct SpoofCase {
    std::size_t client;
    const char* source;
    bool allowed;
};

class AntiSpoofing : public testing::TestWithParam<SpoofCase> {};

TEST_P(AntiSpoofing, AClientSendsOnlyFromWhatItWasGiven) {
    Forwarding forwarding(hub());
    auto [client, source, allowed] = GetParam();
    EXPECT_EQ(forwarding.may_send(client, IpAddress::parse(source)), allowed) << client << " " << source;
}

INSTANTIATE_TEST_SUITE_P(Cases, AntiSpoofing,
                         testing::Values(SpoofCase{0, "10.50.0.2", true}, SpoofCase{0, "10.60.200.1", true},
                                         SpoofCase{0, "192.168.100.10", true}, SpoofCase{0, "10.50.0.3", false},
                                         SpoofCase{0, "10.70.0.1", false}, SpoofCase{0, "10.50.0.1", false},
                                         SpoofCase{1, "10.50.0.3", true}, SpoofCase{1, "10.60.5.7", true},
                                         SpoofCase{1, "10.60.6.7", false}, SpoofCase{1, "192.168.100.10", false},
                                         SpoofCase{7, "10.50.0.2", false}));

TEST(PacketAddresses, ReadFromTheHeader) {
    std::uint8_t v4[20] = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 50, 0, 2, 10, 50, 0, 1};
    auto addresses = addresses_of(v4, sizeof v4);
    ASSERT_TRUE(addresses);
    EXPECT_EQ(addresses->source.to_string(), "10.50.0.2");
    EXPECT_EQ(addresses->destination.to_string(), "10.50.0.1");
    EXPECT_FALSE(addresses_of(v4, 19));
    std::uint8_t v6[40] = {0x60};
    v6[23] = 1;
    v6[39] = 2;
    addresses = addresses_of(v6, sizeof v6);
    ASSERT_TRUE(addresses);
    EXPECT_EQ(addresses->source.to_string(), "::1");
    EXPECT_EQ(addresses->destination.to_string(), "::2");
    std::uint8_t other[40] = {0x50};
    EXPECT_FALSE(addresses_of(other, sizeof other));
    EXPECT_FALSE(addresses_of(other, 0));
}

TEST(Hello, CarriesTheAddressMtuAndRoutesThroughTheServer) {
    auto server = hub();
    auto hello = hello_for(server, 0);
    EXPECT_EQ(hello.address.to_string(), "10.50.0.2/24");
    EXPECT_EQ(hello.mtu, 1500);
    std::vector<std::string> routes;
    for (const auto& route : hello.routes) routes.push_back(route.to_string());
    // The server's routes, its ips outside net, the other client's routes;
    // not its own, and nothing inside net (on the link already).
    EXPECT_EQ(routes, (std::vector<std::string>{"172.20.0.0/16", "192.0.2.1/32", "10.70.0.0/24", "10.60.5.0/24"}));
    EXPECT_EQ(parse_hello(to_json(hello)), hello);
    for (const char* bad : {"", "[]", R"({"address": "10.0.0.2/24", "mtu": 1500})",
                            R"({"address": "10.0.0.2/24", "mtu": 10, "routes": []})",
                            R"({"address": "x", "mtu": 1500, "routes": []})",
                            R"({"address": "10.0.0.2/24", "mtu": 1500, "routes": [1]})"}) {
        EXPECT_THROW(parse_hello(bad), Error) << bad;
    }
}

TEST(WireRecords, RoundTripAndRefuseWhatRunsPastTheEnd) {
    std::string message;
    std::string first(offload_header + 20, 'a'), second(offload_header + 1400, 'b');
    append_record(message, first.data(), first.size());
    append_record(message, second.data(), second.size());
    std::vector<std::string> seen;
    auto data = reinterpret_cast<const std::uint8_t*>(message.data());
    EXPECT_TRUE(for_each_record(data, message.size(), [&](const std::uint8_t* record, std::size_t size) {
        seen.emplace_back(reinterpret_cast<const char*>(record), size);
    }));
    EXPECT_EQ(seen, (std::vector<std::string>{first, second}));
    seen.clear();
    EXPECT_FALSE(for_each_record(data, message.size() - 1, [&](const std::uint8_t*, std::size_t) { seen.push_back(""); }));
    EXPECT_EQ(seen.size(), 1u); // the first, whole, was delivered
    std::string short_record;
    append_record(short_record, "abc", 3); // shorter than the offload header
    EXPECT_FALSE(for_each_record(reinterpret_cast<const std::uint8_t*>(short_record.data()), short_record.size(),
                                 [](const std::uint8_t*, std::size_t) { ADD_FAILURE(); }));
    std::string huge("\x7f\xff\xff\xff", 4);
    EXPECT_FALSE(for_each_record(reinterpret_cast<const std::uint8_t*>(huge.data()), huge.size(),
                                 [](const std::uint8_t*, std::size_t) { ADD_FAILURE(); }));
    EXPECT_TRUE(for_each_record(nullptr, 0, [](const std::uint8_t*, std::size_t) { ADD_FAILURE(); }));
}

} // namespace
} // namespace netd::tunnel
