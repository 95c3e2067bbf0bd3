// Who may do what: the authorization table (caller x method x path), and the
// token file's owner and mode.

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "netd/daemon/daemon.hpp"
#include "netd/http/access_policy.hpp"
#include "netd/http/authorization.hpp"

namespace netd::http {
namespace {

const AdminGroup netd_group{"netd", 1500};
const AdminGroup missing_group{"netd", std::nullopt};

const std::optional<Caller> root = Caller{0, {}, 42};
const std::optional<Caller> alice = Caller{1000, {1000, 27}, std::nullopt};      // not in netd
const std::optional<Caller> bob = Caller{1001, {1001, 1500}, std::nullopt};      // netd as a supplementary group
const std::optional<Caller> carol = Caller{1002, {1500}, 7};                     // netd as her primary group
const std::optional<Caller> nobody_known = std::nullopt;                         // the kernel could not tell

struct AuthorizationCase {
    const char* label;
    std::optional<Caller> caller;
    bool bearer_token;
    verb method;
    const char* path;
    AdminGroup group;
    const char* refused; // nullptr: allowed

    friend void PrintTo(const AuthorizationCase& c, std::ostream* out) { *out << c.label; }
};

class AuthorizationTable : public ::testing::TestWithParam<AuthorizationCase> {};

TEST_P(AuthorizationTable, Decides) {
    const auto& c = GetParam();
    auto refused = refusal(c.caller, c.bearer_token, c.method, c.path, c.group);
    if (c.refused == nullptr) {
        EXPECT_FALSE(refused) << *refused;
    } else {
        ASSERT_TRUE(refused) << "allowed, expected a 403";
        EXPECT_EQ(*refused, c.refused);
    }
}

constexpr const char* alice_tun = "uid 1000 may not change interfaces: run as root, or join the group netd";
constexpr const char* alice_subnet = "uid 1000 may not change subnets: run as root, or join the group netd";
constexpr const char* unidentified_tun =
    "an unidentified caller (not on this host) may not change interfaces: call from this host as root or a member "
    "of the group netd, or start the daemon with --token-file and send its token";

INSTANTIATE_TEST_SUITE_P(
    Table, AuthorizationTable,
    ::testing::Values(
        // Anyone may read.
        AuthorizationCase{"user_get", alice, false, verb::get, "/tun", netd_group, nullptr},
        AuthorizationCase{"user_head", alice, false, verb::head, "/tun/tun0", netd_group, nullptr},
        AuthorizationCase{"unidentified_get", nobody_known, false, verb::get, "/subnet", netd_group, nullptr},
        // Root and the admin group may change.
        AuthorizationCase{"root_post", root, false, verb::post, "/tun", netd_group, nullptr},
        AuthorizationCase{"root_delete_no_group", root, false, verb::delete_, "/tun/tun0", missing_group, nullptr},
        AuthorizationCase{"member_supplementary_post", bob, false, verb::post, "/tun", netd_group, nullptr},
        AuthorizationCase{"member_primary_delete", carol, false, verb::delete_, "/subnet/10.1.0.0%2F24", netd_group,
                          nullptr},
        // Anyone else may not, and is told how to get access.
        AuthorizationCase{"user_post_tun", alice, false, verb::post, "/tun", netd_group, alice_tun},
        AuthorizationCase{"user_delete_tun", alice, false, verb::delete_, "/tun/tun0", netd_group, alice_tun},
        AuthorizationCase{"user_post_subnet", alice, false, verb::post, "/subnet", netd_group, alice_subnet},
        AuthorizationCase{"user_put", alice, false, verb::put, "/tun/tun0", netd_group, alice_tun},
        AuthorizationCase{"user_patch_elsewhere", alice, false, verb::patch, "/tunnels", netd_group,
                          "uid 1000 may not change anything here: run as root, or join the group netd"},
        AuthorizationCase{"user_options", alice, false, verb::options, "/tun", netd_group, alice_tun},
        // A group member no longer is one when the group does not exist.
        AuthorizationCase{"member_of_missing_group", bob, false, verb::post, "/tun", missing_group,
                          "uid 1001 may not change interfaces: run as root, or join the group netd"},
        // The token vouches for an unidentified caller only: the kernel has
        // told who an identified one is.
        AuthorizationCase{"unidentified_with_token", nobody_known, true, verb::post, "/tun", netd_group, nullptr},
        AuthorizationCase{"unidentified_without_token", nobody_known, false, verb::delete_, "/tun/tun0", netd_group,
                          unidentified_tun},
        AuthorizationCase{"user_with_token", alice, true, verb::post, "/tun", netd_group, alice_tun}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(Authorization, DescribesTheCaller) {
    EXPECT_EQ(describe(root), "uid 0 pid 42");
    EXPECT_EQ(describe(alice), "uid 1000");
    EXPECT_EQ(describe(nobody_known), "an unidentified caller");
}

// Through the whole pipeline: the caller reaches the decision, and the
// token is checked (401) before the caller is (403).
TEST(Authorization, ThePolicyRefusesChangesWith403) {
    Router router;
    auto ok = [](const Request&) { return Response::json(status::created, nlohmann::json::object()); };
    router.add(verb::post, "/tun", ok);
    auto hosts = AccessPolicy::default_hosts({boost::asio::ip::make_address("127.0.0.1"), 3030});
    AccessPolicy open_policy(hosts, "", netd_group), token_policy(hosts, "s3cret", netd_group);
    auto post = [](const char* authorization, std::optional<Caller> caller) {
        Incoming request{verb::post, "/tun", "127.0.0.1:3030", "", "", authorization, "application/json", "{}"};
        request.caller = std::move(caller);
        return request;
    };
    auto refused = handle_request(open_policy, router, post("", alice));
    EXPECT_EQ(refused.code, status::forbidden);
    EXPECT_EQ(refused.body["error"]["code"], "forbidden");
    EXPECT_EQ(refused.body["error"]["message"], alice_tun);
    EXPECT_EQ(handle_request(open_policy, router, post("", root)).code, status::created);
    EXPECT_EQ(handle_request(open_policy, router, post("", bob)).code, status::created);
    EXPECT_EQ(handle_request(open_policy, router, post("", nobody_known)).code, status::forbidden);
    EXPECT_EQ(handle_request(token_policy, router, post("Bearer s3cret", nobody_known)).code, status::created);
    EXPECT_EQ(handle_request(token_policy, router, post("Bearer wrong", nobody_known)).code, status::unauthorized);
    EXPECT_EQ(handle_request(token_policy, router, post("", root)).code, status::unauthorized);
    EXPECT_EQ(handle_request(token_policy, router, post("Bearer s3cret", alice)).code, status::forbidden);
}

} // namespace
} // namespace netd::http

namespace netd::daemon {
namespace {

TEST(TokenFile, OnlyTheDaemonsOwnUserMayReadOrWriteIt) {
    EXPECT_EQ(token_file_problem("/etc/netd/token", S_IFREG | 0600, 0, 0), "");
    EXPECT_EQ(token_file_problem("/etc/netd/token", S_IFREG | 0400, 0, 0), "");
    EXPECT_EQ(token_file_problem("/etc/netd/token", S_IFREG | 0644, 0, 0),
              "the token file /etc/netd/token is open to group or others (mode 0644): chmod 600 it");
    EXPECT_EQ(token_file_problem("/t", S_IFREG | 0640, 0, 0),
              "the token file /t is open to group or others (mode 0640): chmod 600 it");
    EXPECT_EQ(token_file_problem("/t", S_IFREG | 0602, 0, 0),
              "the token file /t is open to group or others (mode 0602): chmod 600 it");
    EXPECT_EQ(token_file_problem("/t", S_IFREG | 0600, 1000, 0),
              "the token file /t is owned by uid 1000, not by the daemon's uid 0: chown it");
}

} // namespace
} // namespace netd::daemon
