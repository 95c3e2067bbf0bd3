#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "netd/subnet/routes.hpp"
#include "netd/tun/routes.hpp"

namespace netd {
namespace {

using http::status;
using http::verb;
using nlohmann::json;

// The whole API of both daemons, over the fake kernel: the handlers are pure
// functions of the request, so an exchange is one dispatch call.
class RoutesTest : public ::testing::Test {
protected:
    testing::FakeKernel kernel;
    testing::FakeTunBackend tun_backend{kernel};
    testing::FakeSubnetBackend subnet_backend{kernel};
    testing::FakeIntentStore tun_store, subnet_store;
    std::string problem;
    Intents tun_intents{tun_store, problem}, subnet_intents{subnet_store, problem};
    TunService tuns{tun_backend, kernel, tun_intents, net::Cidr::parse("10.0.0.0/8"), net::Cidr::parse("fd00:1::/48")};
    SubnetService subnets{subnet_backend, kernel, subnet_intents, {.pool = net::Cidr::parse("10.0.0.0/8")}};
    http::Router router;

    void SetUp() override {
        add_tun_routes(router, tuns);
        add_subnet_routes(router, subnets);
    }

    struct Exchange {
        verb method;
        const char* target;
        const char* body;
        status code;
        const char* response; // the exact JSON body, or the error's code
    };

    // Sends each request in turn and checks each response.
    void play(const std::vector<Exchange>& script) {
        for (const auto& step : script) check(step);
    }

private:
    void check(const Exchange& step) {
        std::string_view body = step.body;
        auto content_type = body.empty() && step.method != verb::post ? "" : "application/json";
        auto response = router.dispatch(step.method, step.target, content_type, body);
        auto what = std::string(to_string(step.method)) + " " + step.target + " " + step.body;
        // Listings come rendered already, as text.
        auto answer = response.text.empty() ? response.body : json::parse(response.text);
        EXPECT_EQ(response.code, step.code) << what << " -> " << answer.dump();
        if (answer.contains("error")) {
            EXPECT_EQ(answer["error"]["code"], step.response) << what;
        } else if (*step.response) {
            EXPECT_EQ(answer, json::parse(step.response)) << what;
        } else {
            EXPECT_TRUE(answer.is_null()) << what;
        }
    }
};

TEST_F(RoutesTest, TunLifecycle) {
    play({
             {verb::post, "/tun", "", status::created,
              R"({"name":"tun0","ip_addr":"10.0.0.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.0.255","prefix_len":24,"mtu":1500,"ipv6":false,"routes":[]})"},
             {verb::post, "/tun", R"({"name":"utun3"})", status::created,
              R"({"name":"utun3","ip_addr":"10.0.1.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.1.255","prefix_len":24,"mtu":1500,"ipv6":false,"routes":[]})"},
             {verb::get, "/tun", "", status::ok,
              R"([{"name":"tun0","ip_addr":"10.0.0.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.0.255","prefix_len":24,"mtu":1500,"ipv6":false,"routes":[]},
                  {"name":"utun3","ip_addr":"10.0.1.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.1.255","prefix_len":24,"mtu":1500,"ipv6":false,"routes":[]}])"},
             {verb::get, "/tun/utun3", "", status::ok,
              R"({"name":"utun3","ip_addr":"10.0.1.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.1.255","prefix_len":24,"mtu":1500,"ipv6":false,"routes":[]})"},
             {verb::post, "/tun", R"({"name":"utun3"})", status::conflict, "conflict"},
             {verb::delete_, "/tun/utun3", "", status::no_content, ""},
             {verb::delete_, "/tun/utun3", "", status::not_found, "not_found"},
             {verb::get, "/tun/utun3", "", status::not_found, "not_found"},
             {verb::post, "/tun", R"({"name":"big","mtu":9000,"ipv6":false,"prefix_len":28,"multi_queue":true})", status::created,
              R"({"name":"big","ip_addr":"10.0.1.1","owner":0,"netmask":"255.255.255.240","broadcast":"10.0.1.15",
                  "prefix_len":28,"mtu":9000,"ipv6":false,"multi_queue":true,"routes":[]})"},
             {verb::post, "/tun",
              R"({"name":"fixed","address":"172.16.0.9/16","extra_addresses":["192.168.7.1/24"],
                  "routes":["10.200.0.0/16","10.201.1.0/24"]})",
              status::created,
              R"({"name":"fixed","ip_addr":"172.16.0.9","owner":0,"netmask":"255.255.0.0","broadcast":"172.16.255.255",
                  "prefix_len":16,"mtu":1500,"ipv6":false,"extra_addresses":["192.168.7.1/24"],
                  "routes":["10.200.0.0/16","10.201.1.0/24"]})"},
             {verb::post, "/tun", R"({"address":"172.16.9.1/24"})", status::conflict, "conflict"},
             {verb::post, "/tun", R"({"routes":["10.200.3.0/24"]})", status::conflict, "conflict"},
             {verb::post, "/tun", R"({"extra_addresses":["192.168.7.9/24"]})", status::conflict, "conflict"},
             {verb::post, "/tun", R"({"routes":["10.9.0.0/16","10.9.1.0/24"]})", status::conflict, "conflict"},
             {verb::post, "/tun", R"({"address":"10.50.0.1/24","prefix_len":24})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"address":"10.50.0.0/24"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"address":"10.50.0.255/24"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"address":"10.50.0.1"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"routes":"10.9.0.0/16"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"routes":["10.9.0.1/16"]})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"extra_addresses":[5]})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"mtu":67})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"mtu":65536})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"mtu":"1500"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"prefix_len":31})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"prefix_len":7})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"multi_queue":"yes"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"name":5})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"nam":"x"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"name":"a b"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"name":)", status::bad_request, "invalid"},
             {verb::put, "/tun", "", status::method_not_allowed, "method_not_allowed"},
    });
}

TEST_F(RoutesTest, TunIpv6) {
    play({
             {verb::post, "/tun", R"({"name":"six","ipv6":true})", status::created,
              R"({"name":"six","ip_addr":"10.0.0.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.0.255","prefix_len":24,
                  "mtu":1500,"ipv6":true,"ip6_addr":"fd00:1::1","prefix6":"fd00:1::/64","routes":[]})"},
             {verb::post, "/tun", R"({"ipv6":true})", status::created,
              R"({"name":"tun0","ip_addr":"10.0.1.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.1.255","prefix_len":24,
                  "mtu":1500,"ipv6":true,"ip6_addr":"fd00:1:0:1::1","prefix6":"fd00:1:0:1::/64","routes":[]})"},
             {verb::post, "/tun", R"({"name":"v6x","extra_addresses":["FD99::1/64"],"routes":["fd98::/48"]})",
              status::created,
              R"({"name":"v6x","ip_addr":"10.0.2.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.2.255","prefix_len":24,
                  "mtu":1500,"ipv6":false,"extra_addresses":["fd99::1/64"],"routes":["fd98::/48"]})"},
             {verb::delete_, "/tun/six", "", status::no_content, ""},
             // Round robin: the /64 just freed is not handed out at once.
             {verb::post, "/tun", R"({"name":"again","ipv6":true})", status::created,
              R"({"name":"again","ip_addr":"10.0.3.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.3.255",
                  "prefix_len":24,"mtu":1500,"ipv6":true,"ip6_addr":"fd00:1:0:2::1","prefix6":"fd00:1:0:2::/64",
                  "routes":[]})"},
             {verb::post, "/tun", R"({"extra_addresses":["fd00:1:0:2::9/64"]})", status::conflict, "conflict"},
             {verb::post, "/tun", R"({"routes":["fd99::/16"]})", status::conflict, "conflict"},
             {verb::post, "/tun", R"({"ipv6":true,"mtu":1279})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"ipv6":"yes"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"address":"fd00:2::1/64"})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"routes":["::ffff:10.0.0.0/104"]})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"extra_addresses":["fe80::1%tun0/64"]})", status::bad_request, "invalid"},
             {verb::post, "/tun", R"({"routes":["fd98::1/48"]})", status::bad_request, "invalid"},
             {verb::get, "/tun/again", "", status::ok,
              R"({"name":"again","ip_addr":"10.0.3.1","owner":0,"netmask":"255.255.255.0","broadcast":"10.0.3.255",
                  "prefix_len":24,"mtu":1500,"ipv6":true,"ip6_addr":"fd00:1:0:2::1","prefix6":"fd00:1:0:2::/64",
                  "routes":[]})"},
    });
}

TEST_F(RoutesTest, TunGaugesCountInterfacesAndFreeBlocks) {
    tuns.create({}, {.ipv6 = true});
    tuns.create({});
    std::map<std::string, double> values;
    for (const auto& gauge : tun_gauges(tuns)) values[gauge.name] = gauge.value;
    EXPECT_EQ(values, (std::map<std::string, double>{{"netd_managed_interfaces", 2},
                                                     {"netd_pool_free_blocks", 65536 - 2},
                                                     {"netd_pool6_free_blocks", 65536 - 1}}));
}

TEST_F(RoutesTest, SubnetLifecycle) {
    play({
             {verb::post, "/subnet", R"({"cidr":"10.1.0.0/24"})", status::created,
              R"({"network":"10.1.0.0/24","interface":"lo:0","address":"10.1.0.1"})"},
             {verb::post, "/subnet", R"({"cidr":"10.1.0.0/25"})", status::conflict, "conflict"},
             {verb::post, "/subnet", R"({"cidr":"10.1.0.1/24"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"010.1.0.0/24"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"10.1/24"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":["10.2.0.0/24"]})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"10.2.0.0/24","prefix_len":24})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"prefix_len":31})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"prefix_len":"24"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", "{}", status::created,
              R"({"network":"10.0.0.0/24","interface":"lo:1","address":"10.0.0.1"})"},
             {verb::get, "/subnet/10.1.0.0%2F24", "", status::ok,
              R"({"network":"10.1.0.0/24","interface":"lo:0","address":"10.1.0.1"})"},
             {verb::delete_, "/subnet/10.1.0.0%2F24", "", status::no_content, ""},
             {verb::delete_, "/subnet/10.1.0.0%2F24", "", status::not_found, "not_found"},
             {verb::delete_, "/subnet/10.0.0.0/24", "", status::no_content, ""},
             {verb::delete_, "/subnet/10.1.0.1%2F24", "", status::bad_request, "invalid"},
             {verb::delete_, "/subnet/banana", "", status::bad_request, "invalid"},
             {verb::get, "/subnet", "", status::ok, "[]"},
    });
}

TEST_F(RoutesTest, SubnetIpv6) {
    play({
             {verb::post, "/subnet", R"({"cidr":"fd12:3456:789a:1::/64"})", status::created,
              R"({"network":"fd12:3456:789a:1::/64","interface":"lo:0","address":"fd12:3456:789a:1::1"})"},
             {verb::post, "/subnet", R"({"cidr":"fd12:3456:789a:1:8000::/65"})", status::conflict, "conflict"},
             {verb::post, "/subnet", R"({"cidr":"fd12::/16"})", status::conflict, "conflict"},
             // Outside the IPv6 pool (fd00::/8 unless told otherwise).
             {verb::post, "/subnet", R"({"cidr":"2001:db8::/64"})", status::conflict, "conflict"},
             {verb::post, "/subnet", R"({"cidr":"fd12::1/64"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"fd12::/127"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"fd00::/8"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"::ffff:10.0.0.0/120"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"fd12::%lo/64"})", status::bad_request, "invalid"},
             {verb::post, "/subnet", R"({"cidr":"fd12:::/64"})", status::bad_request, "invalid"},
             {verb::get, "/subnet/fd12%3A3456%3A789a%3A1%3A%3A%2F64", "", status::ok,
              R"({"network":"fd12:3456:789a:1::/64","interface":"lo:0","address":"fd12:3456:789a:1::1"})"},
             // Any spelling of the same network names it.
             {verb::delete_, "/subnet/FD12:3456:789A:0001:0:0:0:0%2f64", "", status::no_content, ""},
             {verb::delete_, "/subnet/fd12:3456:789a:1::%2F64", "", status::not_found, "not_found"},
             {verb::get, "/subnet", "", status::ok, "[]"},
    });
}

} // namespace
} // namespace netd
