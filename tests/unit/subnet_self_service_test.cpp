// subnet-daemon --self-service: what a user who is not an admin may create
// and delete, and that a subnet's owner, which only the journal holds, is
// listed and survives a restart.

#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "netd/error.hpp"
#include "netd/http/access_policy.hpp"
#include "netd/subnet/routes.hpp"
#include "netd/subnet/self_service.hpp"

namespace netd {
namespace {

using net::Cidr;

const SubnetPolicy policy{.pool = Cidr::parse("10.0.0.0/8"), .pool6 = Cidr::parse("fd00::/8")};
const SubnetPolicy outside_allowed{.pool = Cidr::parse("10.0.0.0/8"), .allow_outside_pool = true};

struct CreateCase {
    const char* label;
    const char* cidr; // nullptr: a block of prefix_len, allocated
    int prefix_len;
    std::size_t held;
    const char* refused; // nullptr: allowed
    const SubnetPolicy* with = &policy;

    friend void PrintTo(const CreateCase& c, std::ostream* out) { *out << c.label; }
};

class SubnetSelfServiceCreate : public ::testing::TestWithParam<CreateCase> {};

TEST_P(SubnetSelfServiceCreate, Decides) {
    const auto& c = GetParam();
    std::optional<Cidr> cidr;
    if (c.cidr) cidr = Cidr::parse(c.cidr);
    try {
        limit_to_owner(1000, cidr, c.prefix_len, *c.with, c.held, 4);
        EXPECT_EQ(c.refused, nullptr) << "allowed";
    } catch (const Error& error) {
        ASSERT_NE(c.refused, nullptr) << error.what();
        EXPECT_EQ(error.code(), ErrorCode::forbidden);
        EXPECT_EQ(std::string(error.what()), c.refused);
    }
}

constexpr const char* only_own = " needs an admin: uid 1000 may only create subnets of its own in the pool "
                                 "(--self-service)";

std::string refusal(const std::string& what) { return what + only_own; }

const std::string outside_pool = refusal("a \"cidr\" outside the pool 10.0.0.0/8");
const std::string outside_pool6 = refusal("a \"cidr\" outside the pool fd00::/8");
const std::string larger = refusal("a subnet larger than /24");
const std::string larger6 = refusal("an IPv6 subnet larger than /64");

INSTANTIATE_TEST_SUITE_P(
    Table, SubnetSelfServiceCreate,
    ::testing::Values(
        CreateCase{"allocated_default", nullptr, 24, 0, nullptr},
        CreateCase{"allocated_smaller", nullptr, 28, 3, nullptr},
        CreateCase{"given_in_pool", "10.9.0.0/24", 24, 0, nullptr},
        CreateCase{"given_smaller", "10.9.0.0/26", 24, 0, nullptr},
        CreateCase{"ipv6_a_link", "fd12:3456:789a:1::/64", 24, 0, nullptr},
        CreateCase{"ipv6_smaller", "fd12:3456:789a:1::/120", 24, 0, nullptr},
        CreateCase{"allocated_larger", nullptr, 23, 0, larger.c_str()},
        CreateCase{"allocated_whole_pool", nullptr, 8, 0, larger.c_str()},
        CreateCase{"given_larger", "10.8.0.0/16", 24, 0, larger.c_str()},
        CreateCase{"given_whole_pool", "10.0.0.0/8", 24, 0, larger.c_str()},
        // Only the default route covers these: nothing on the host overlaps
        // them, and only the pool keeps a user from them.
        CreateCase{"outside_pool", "8.8.8.0/24", 24, 0, outside_pool.c_str()},
        CreateCase{"outside_pool_small", "1.1.1.0/28", 24, 0, outside_pool.c_str()},
        CreateCase{"wider_than_pool", "10.0.0.0/7", 24, 0, outside_pool.c_str()},
        CreateCase{"outside_pool_however_allowed", "192.168.7.0/24", 24, 0, outside_pool.c_str(),
                   &outside_allowed},
        CreateCase{"ipv6_outside_pool", "2001:db8::/64", 24, 0, outside_pool6.c_str()},
        CreateCase{"ipv6_larger", "fd12:3456::/48", 24, 0, larger6.c_str()},
        CreateCase{"over_quota", nullptr, 24, 4,
                   "uid 1000 already holds 4 subnets, as many as --self-service-quota allows: delete one first"},
        CreateCase{"over_quota_given", "10.9.0.0/24", 24, 5,
                   "uid 1000 already holds 5 subnets, as many as --self-service-quota allows: delete one first"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(SubnetSelfService, OnlyTheOwnerMayDelete) {
    Subnet subnet{Cidr::parse("10.0.3.0/24"), net::InterfaceAddress::parse("10.0.3.1/24"), "lo:3", 1000};
    EXPECT_NO_THROW(check_owner(1000, subnet));
    try {
        check_owner(1001, subnet);
        ADD_FAILURE() << "uid 1001 may delete uid 1000's subnet";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::forbidden);
        EXPECT_EQ(std::string(error.what()),
                  "uid 1001 may only delete subnets it created; 10.0.3.0/24 belongs to uid 1000");
    }
    subnet.owner.reset();
    try {
        check_owner(1000, subnet);
        ADD_FAILURE() << "uid 1000 may delete a subnet without an owner";
    } catch (const Error& error) {
        EXPECT_EQ(std::string(error.what()),
                  "uid 1000 may only delete subnets it created; 10.0.3.0/24 has no owner, so only an admin may "
                  "delete it");
    }
}

TEST(SubnetSelfService, ThePolicyLetsOnlySubnetChangesThroughToTheHandler) {
    using http::verb;
    EXPECT_TRUE(http::self_service_route(verb::post, "/subnet", "/subnet"));
    EXPECT_TRUE(http::self_service_route(verb::delete_, "/subnet/10.1.0.0%2F24", "/subnet"));
    EXPECT_TRUE(http::self_service_route(verb::delete_, "/subnet/10.1.0.0/24", "/subnet"));
    EXPECT_TRUE(http::self_service_route(verb::delete_, "/subnet/fd12%3A3456%3A789a%3A1%3A%3A%2F64", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/subnet/", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/subnet", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/subnet/10.1.0.0//24", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/subnet//10.1.0.0/24", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/subnet/10.1.0.0/24/", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::delete_, "/subnet/a/b/c", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::post, "//subnet", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::post, "/subnet/10.1.0.0%2F24", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::post, "/tun", "/subnet"));
    EXPECT_FALSE(http::self_service_route(verb::put, "/subnet/10.1.0.0%2F24", "/subnet"));

    auto hosts = http::AccessPolicy::default_hosts({boost::asio::ip::make_address("127.0.0.1"), 3031});
    http::AccessPolicy on(hosts, "", {"netd", 1500}, "/subnet"), off(hosts, "", {"netd", 1500});
    http::Incoming post{verb::post, "/subnet", "127.0.0.1:3031", "", "", "", "application/json", "{}"};
    post.caller = http::Caller{1000, {1000}, std::nullopt};
    EXPECT_EQ(on.check(post), 1000u) << "a user's POST is not limited to their own";
    try {
        off.check(post);
        ADD_FAILURE() << "without --self-service a user may add subnets";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::forbidden);
        EXPECT_EQ(std::string(error.what()), "uid 1000 may not change subnets: run as root, or join the group netd");
    }
    post.caller = http::Caller{0, {}, std::nullopt};
    EXPECT_EQ(on.check(post), std::nullopt) << "root is limited";
    post.caller.reset();
    EXPECT_THROW(on.check(post), Error) << "an unidentified caller owns nothing";
    http::Incoming tun{verb::post, "/tun", "127.0.0.1:3031", "", "", "", "application/json", "{}"};
    tun.caller = http::Caller{1000, {1000}, std::nullopt};
    EXPECT_THROW(on.check(tun), Error) << "subnet-daemon's self-service opened /tun";
}

// The handlers over the fake kernel: a user's subnets are theirs in the
// listing, count against the quota, and may be deleted by them alone. The
// owner lives in the journal, so a restart (a new service over the same
// store) still knows it.
class SubnetSelfServiceHandlers : public ::testing::Test {
protected:
    testing::FakeKernel kernel;
    testing::FakeSubnetBackend backend{kernel};
    testing::FakeIntentStore store;

    struct Daemon {
        std::string problem;
        Intents intents;
        SubnetService service;
        http::Router router;
        Daemon(testing::FakeSubnetBackend& backend, testing::FakeKernel& kernel, testing::FakeIntentStore& store)
            : intents(store, problem), service(backend, kernel, intents, policy) {
            service.reconcile();
            add_subnet_routes(router, service, {.enabled = true, .quota = 2});
        }
    };

    static http::Response send(const Daemon& daemon, http::verb method, const std::string& target,
                               const std::string& body, std::optional<std::uint32_t> limited_to) {
        return daemon.router.dispatch(method, target, "application/json", body, limited_to);
    }
};

TEST_F(SubnetSelfServiceHandlers, UsersKeepToTheirOwnAndTheJournalRemembersWhose) {
    using http::status;
    using http::verb;
    constexpr std::uint32_t nobody = 65534;
    {
        Daemon daemon(backend, kernel, store);
        ASSERT_EQ(send(daemon, verb::post, "/subnet", R"({"cidr":"10.1.0.0/24"})", std::nullopt).code,
                  status::created);
        auto mine = send(daemon, verb::post, "/subnet", "{}", nobody);
        ASSERT_EQ(mine.code, status::created) << mine.body.dump();
        EXPECT_EQ(mine.body["owner"], nobody);
        EXPECT_EQ(send(daemon, verb::post, "/subnet", R"({"cidr":"10.2.0.0/25"})", nobody).code, status::created);
        auto over = send(daemon, verb::post, "/subnet", "{}", nobody);
        EXPECT_EQ(over.code, status::forbidden) << over.body.dump();
        EXPECT_EQ(over.body["error"]["message"],
                  "uid 65534 already holds 2 subnets, as many as --self-service-quota allows: delete one first");
        EXPECT_EQ(send(daemon, verb::post, "/subnet", "{}", 1000).code, status::created)
            << "another user's quota was spent";
        EXPECT_EQ(send(daemon, verb::post, "/subnet", R"({"prefix_len":16})", std::nullopt).code, status::created)
            << "an admin was limited";
    }
    EXPECT_EQ(kernel.subnets.size(), 5u);

    Daemon restarted(backend, kernel, store);
    std::map<std::string, nlohmann::json> owners;
    auto listed = send(restarted, verb::get, "/subnet", "", std::nullopt).payload(); // rendered, as text
    for (const auto& subnet : nlohmann::json::parse(listed)) {
        owners[subnet["network"]] = subnet.value("owner", nlohmann::json());
    }
    EXPECT_EQ(owners, (std::map<std::string, nlohmann::json>{{"10.0.0.0/24", nobody},
                                                             {"10.0.1.0/24", 1000},
                                                             {"10.1.0.0/24", nullptr},
                                                             {"10.2.0.0/25", nobody},
                                                             {"10.3.0.0/16", nullptr}}));
    auto roots = send(restarted, verb::delete_, "/subnet/10.1.0.0%2F24", "", nobody);
    EXPECT_EQ(roots.code, status::forbidden);
    EXPECT_EQ(roots.body["error"]["message"],
              "uid 65534 may only delete subnets it created; 10.1.0.0/24 has no owner, so only an admin may delete it");
    EXPECT_EQ(send(restarted, verb::delete_, "/subnet/10.0.1.0/24", "", nobody).code, status::forbidden);
    EXPECT_EQ(send(restarted, verb::delete_, "/subnet/10.0.0.0/24", "", nobody).code, status::no_content);
    EXPECT_EQ(send(restarted, verb::post, "/subnet", R"({"cidr":"10.4.0.0/24"})", nobody).code, status::created)
        << "a deleted subnet still counts against the quota";
    EXPECT_EQ(kernel.subnets.size(), 5u);
    EXPECT_TRUE(kernel.subnets.contains(Cidr::parse("10.1.0.0/24")));
    EXPECT_FALSE(kernel.subnets.contains(Cidr::parse("10.0.0.0/24")));
}

// Refused requests change nothing: not the kernel, not the journal.
TEST_F(SubnetSelfServiceHandlers, RefusalsChangeNothing) {
    using http::status;
    using http::verb;
    Daemon daemon(backend, kernel, store);
    auto before = store.text;
    for (const char* body : {R"({"cidr":"8.8.8.0/24"})", R"({"cidr":"10.0.0.0/16"})", R"({"prefix_len":20})",
                             R"({"cidr":"2001:db8::/64"})"}) {
        auto refused = send(daemon, verb::post, "/subnet", body, 65534);
        EXPECT_EQ(refused.code, status::forbidden) << body << ": " << refused.body.dump();
    }
    EXPECT_TRUE(kernel.subnets.empty());
    EXPECT_EQ(store.text, before);
}

// A create a crash interrupted once the kernel had the subnet keeps its
// owner when the next start completes it: the owner is journaled with the
// begin, before the kernel hears of the subnet.
TEST_F(SubnetSelfServiceHandlers, ACreateCompletedAfterACrashKeepsItsOwner) {
    {
        std::string problem;
        Intents intents(store, problem);
        intents.begin("10.5.0.0/24", {{"interface", ""}, {"owner", 65534}});
    }
    kernel.subnets[Cidr::parse("10.5.0.0/24")] = {Cidr::parse("10.5.0.0/24"),
                                                  net::InterfaceAddress::parse("10.5.0.1/24"), "lo:0"};
    Daemon daemon(backend, kernel, store);
    EXPECT_EQ(daemon.intents.records().at("10.5.0.0/24"),
              (nlohmann::json{{"interface", "lo:0"}, {"owner", 65534}}));
    EXPECT_EQ(daemon.service.get(Cidr::parse("10.5.0.0/24")).owner, 65534u);
}

// Only a uid is an owner: anything else in the record (a hand-edited
// journal) gives none, which leaves the subnet to the admins.
TEST_F(SubnetSelfServiceHandlers, AnOwnerThatIsNoUidIsNone) {
    for (const nlohmann::json& owner : {nlohmann::json("65534"), nlohmann::json(-1), nlohmann::json(1ull << 32),
                                        nlohmann::json(nullptr), nlohmann::json::array()}) {
        store.text = R"({"version":4,"intents":{"10.6.0.0/24":{"interface":"lo:0","owner":)" + owner.dump() +
                     "}}}\n";
        kernel.subnets[Cidr::parse("10.6.0.0/24")] = {Cidr::parse("10.6.0.0/24"),
                                                      net::InterfaceAddress::parse("10.6.0.1/24"), "lo:0"};
        Daemon daemon(backend, kernel, store);
        EXPECT_EQ(daemon.service.get(Cidr::parse("10.6.0.0/24")).owner, std::nullopt) << owner.dump();
    }
}

} // namespace
} // namespace netd
