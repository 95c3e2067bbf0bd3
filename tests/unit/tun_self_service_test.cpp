// --self-service: what a user who is not an admin may create and delete.

#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "netd/http/access_policy.hpp"
#include "netd/tun/self_service.hpp"

namespace netd {
namespace {

const auto pool = net::Cidr::parse("10.0.0.0/8");

struct CreateCase {
    const char* label;
    TunSpec spec;
    TunAddressing addressing;
    std::size_t owned;
    const char* refused; // nullptr: allowed, with the owner forced to 1000

    friend void PrintTo(const CreateCase& c, std::ostream* out) { *out << c.label; }
};

class SelfServiceCreate : public ::testing::TestWithParam<CreateCase> {};

TEST_P(SelfServiceCreate, Decides) {
    auto c = GetParam();
    try {
        limit_to_owner(1000, c.spec, c.addressing, pool, c.owned, 4);
        EXPECT_EQ(c.refused, nullptr) << "allowed";
        EXPECT_EQ(c.spec.owner, "1000") << "the TUN is not the caller's";
    } catch (const Error& error) {
        ASSERT_NE(c.refused, nullptr) << error.what();
        EXPECT_EQ(error.code(), ErrorCode::forbidden);
        EXPECT_EQ(std::string(error.what()), c.refused);
    }
}

TunAddressing at(const char* address) { return {default_tun_prefix_len, net::InterfaceAddress::parse(address)}; }
TunAddressing sized(int prefix_len) { return {prefix_len}; }

INSTANTIATE_TEST_SUITE_P(
    Table, SelfServiceCreate,
    ::testing::Values(
        CreateCase{"plain", {}, {}, 0, nullptr},
        CreateCase{"named_own_owner", {.name = "mine0", .owner = "1000"}, {}, 3, nullptr},
        CreateCase{"smaller_block", {}, sized(28), 0, nullptr},
        CreateCase{"address_in_pool", {}, at("10.9.0.1/24"), 0, nullptr},
        CreateCase{"someone_elses", {.owner = "0"}, {}, 0,
                   "uid 1000 may only create TUNs it owns: leave \"owner\" out, or give 1000, not \"0\""},
        CreateCase{"owner_by_name", {.owner = "root"}, {}, 0,
                   "uid 1000 may only create TUNs it owns: leave \"owner\" out, or give 1000, not \"root\""},
        CreateCase{"group", {.group = "0"}, {}, 0,
                   "\"group\" needs an admin: uid 1000 may only create TUNs of its own in the pool (--self-service)"},
        CreateCase{"routes", {.routes = {net::Cidr::parse("192.168.0.0/16")}}, {}, 0,
                   "\"routes\" needs an admin: uid 1000 may only create TUNs of its own in the pool (--self-service)"},
        // Only the host's default route covers these, so they overlap
        // nothing there: the rule, not the overlap check, must stop them.
        CreateCase{"routes_only_the_default_covers",
                   {.routes = {net::Cidr::parse("8.8.8.8/32"), net::Cidr::parse("1.1.1.0/24")}}, {}, 0,
                   "\"routes\" needs an admin: uid 1000 may only create TUNs of its own in the pool (--self-service)"},
        CreateCase{"route_inside_the_pool", {.routes = {net::Cidr::parse("10.9.0.0/24")}}, {}, 0,
                   "\"routes\" needs an admin: uid 1000 may only create TUNs of its own in the pool (--self-service)"},
        CreateCase{"mark", {.mark = TunMark{1, 100}}, {}, 0,
                   "\"mark\" needs an admin: uid 1000 may only create TUNs of its own in the pool (--self-service)"},
        CreateCase{"extras", {.extra_addresses = {net::InterfaceAddress::parse("10.7.0.1/24")}}, {}, 0,
                   "\"extra_addresses\" needs an admin: uid 1000 may only create TUNs of its own in the pool "
                   "(--self-service)"},
        CreateCase{"address_outside_pool", {}, at("172.16.0.1/24"), 0,
                   "an \"address\" outside the pool 10.0.0.0/8 needs an admin: uid 1000 may only create TUNs of its "
                   "own in the pool (--self-service)"},
        CreateCase{"address_wider_than_pool", {}, at("10.0.0.1/7"), 0,
                   "an \"address\" outside the pool 10.0.0.0/8 needs an admin: uid 1000 may only create TUNs of its "
                   "own in the pool (--self-service)"},
        // An address's block is the route the kernel adds for it: one in
        // the pool but wider than a /24 is as large a block as prefix_len 8.
        CreateCase{"address_taking_the_whole_pool", {}, at("10.0.0.1/8"), 0,
                   "a block larger than /24 needs an admin: uid 1000 may only create TUNs of its own in the pool "
                   "(--self-service)"},
        CreateCase{"address_wider_than_a_block", {}, at("10.9.0.1/23"), 0,
                   "a block larger than /24 needs an admin: uid 1000 may only create TUNs of its own in the pool "
                   "(--self-service)"},
        CreateCase{"address_in_a_smaller_block", {}, at("10.9.0.1/30"), 0, nullptr},
        CreateCase{"whole_pool", {}, sized(8), 0,
                   "a block larger than /24 needs an admin: uid 1000 may only create TUNs of its own in the pool "
                   "(--self-service)"},
        CreateCase{"over_quota", {}, {}, 4,
                   "uid 1000 already owns 4 TUNs, as many as --self-service-quota allows: delete one first"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(SelfService, OnlyTheOwnerMayDelete) {
    TunInterface tun{.name = "tun3", .address = net::InterfaceAddress::parse("10.0.3.1/24")};
    tun.owner = 1000;
    EXPECT_NO_THROW(check_owner(1000, tun));
    try {
        check_owner(1001, tun);
        ADD_FAILURE() << "uid 1001 may delete uid 1000's TUN";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::forbidden);
        EXPECT_EQ(std::string(error.what()), "uid 1001 may only delete TUNs it owns; tun3 belongs to uid 1000");
    }
    tun.owner.reset();
    EXPECT_THROW(check_owner(1000, tun), Error);
}

TEST(SelfService, ThePolicyLetsOnlyTunChangesThroughToTheHandler) {
    using http::verb;
    EXPECT_TRUE(http::self_service_route(verb::post, "/tun", "/tun"));
    EXPECT_TRUE(http::self_service_route(verb::delete_, "/tun/tun0", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/tun/", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/tun", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/tun/tun0/x", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/tunnel/tun0", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::post, "//tun", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::post, "/tun/tun0", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::post, "/subnet", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::put, "/tun/tun0", "/tun"));
    EXPECT_FALSE(http::self_service_route(verb::post, "/tun", "")) << "self-service is off";

    auto hosts = http::AccessPolicy::default_hosts({boost::asio::ip::make_address("127.0.0.1"), 3030});
    http::AccessPolicy on(hosts, "", {"netd", 1500}, "/tun"), off(hosts, "", {"netd", 1500});
    http::Incoming post{verb::post, "/tun", "127.0.0.1:3030", "", "", "", "application/json", "{}"};
    post.caller = http::Caller{1000, {1000}, std::nullopt};
    EXPECT_EQ(on.check(post), 1000u) << "a user's POST is not limited to their own";
    EXPECT_THROW(off.check(post), Error);
    post.caller = http::Caller{0, {}, std::nullopt};
    EXPECT_EQ(on.check(post), std::nullopt) << "root is limited";
    post.caller.reset();
    EXPECT_THROW(on.check(post), Error) << "an unidentified caller owns nothing";
    http::Incoming subnet{verb::post, "/subnet", "127.0.0.1:3030", "", "", "", "application/json", "{}"};
    subnet.caller = http::Caller{1000, {1000}, std::nullopt};
    EXPECT_THROW(on.check(subnet), Error) << "subnets are for admins only";
}

} // namespace
} // namespace netd
