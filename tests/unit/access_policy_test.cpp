#include <gtest/gtest.h>

#include "netd/http/access_policy.hpp"

namespace netd::http {
namespace {

Router health_and_tun() {
    Router router;
    auto ok = [](const Request&) { return Response::json(status::ok, nlohmann::json::object()); };
    router.add(verb::get, "/healthz", ok);
    router.add(verb::get, "/tun", ok);
    return router;
}

struct AccessCase {
    const char* label;
    const char* host;
    const char* origin;
    const char* fetch_site;
    const char* authorization;
    const char* target;
    status expected;

    friend void PrintTo(const AccessCase& c, std::ostream* out) { *out << c.label; }
};

class AccessPolicyTest : public ::testing::TestWithParam<AccessCase> {};

TEST_P(AccessPolicyTest, Decides) {
    const auto& c = GetParam();
    auto hosts = AccessPolicy::default_hosts({boost::asio::ip::make_address("127.0.0.1"), 3030});
    hosts.push_back("netd.internal:3030");
    AccessPolicy policy(hosts, "s3cret-token");
    Incoming request{verb::get, c.target, c.host, c.origin, c.fetch_site, c.authorization, "", ""};
    auto response = handle_request(policy, health_and_tun(), request);
    EXPECT_EQ(response.code, c.expected) << response.body.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Table, AccessPolicyTest,
    ::testing::Values(
        AccessCase{"loopback", "127.0.0.1:3030", "", "", "Bearer s3cret-token", "/tun", status::ok},
        AccessCase{"localhost", "localhost:3030", "", "", "Bearer s3cret-token", "/tun", status::ok},
        AccessCase{"localhost_upper", "LOCALHOST:3030", "", "", "Bearer s3cret-token", "/tun", status::ok},
        AccessCase{"ipv6", "[::1]:3030", "", "", "Bearer s3cret-token", "/tun", status::ok},
        AccessCase{"allowed_extra", "netd.internal:3030", "", "", "bearer s3cret-token", "/tun", status::ok},
        AccessCase{"same_origin_fetch", "127.0.0.1:3030", "", "same-origin", "Bearer s3cret-token", "/tun", status::ok},
        AccessCase{"rebinding", "evil.example:3030", "", "", "Bearer s3cret-token", "/tun", status::forbidden},
        AccessCase{"wrong_port", "127.0.0.1:80", "", "", "Bearer s3cret-token", "/tun", status::forbidden},
        AccessCase{"no_host", "", "", "", "Bearer s3cret-token", "/tun", status::forbidden},
        AccessCase{"host_prefix", "127.0.0.1:30300", "", "", "Bearer s3cret-token", "/tun", status::forbidden},
        AccessCase{"origin", "127.0.0.1:3030", "http://evil.example", "", "Bearer s3cret-token", "/tun",
                   status::forbidden},
        AccessCase{"origin_null", "127.0.0.1:3030", "null", "", "Bearer s3cret-token", "/tun", status::forbidden},
        AccessCase{"cross_site", "127.0.0.1:3030", "", "cross-site", "Bearer s3cret-token", "/tun", status::forbidden},
        AccessCase{"no_token", "127.0.0.1:3030", "", "", "", "/tun", status::unauthorized},
        AccessCase{"wrong_token", "127.0.0.1:3030", "", "", "Bearer s3cret-tokem", "/tun", status::unauthorized},
        AccessCase{"token_prefix", "127.0.0.1:3030", "", "", "Bearer s3cret", "/tun", status::unauthorized},
        AccessCase{"token_longer", "127.0.0.1:3030", "", "", "Bearer s3cret-token2", "/tun", status::unauthorized},
        AccessCase{"basic_scheme", "127.0.0.1:3030", "", "", "Basic s3cret-token", "/tun", status::unauthorized},
        AccessCase{"health_needs_no_token", "127.0.0.1:3030", "", "", "", "/healthz", status::ok},
        AccessCase{"health_still_checks_host", "evil.example", "", "", "", "/healthz", status::forbidden}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(AccessPolicy, NoTokenConfiguredNeedsNone) {
    AccessPolicy policy(AccessPolicy::default_hosts({boost::asio::ip::make_address("127.0.0.1"), 3031}));
    Incoming request{verb::get, "/tun", "localhost:3031", "", "", "", "", ""};
    EXPECT_EQ(handle_request(policy, health_and_tun(), request).code, status::ok);
}

TEST(AccessPolicy, AmbiguousFramingIsRefusedFirst) {
    AccessPolicy policy(AccessPolicy::default_hosts({boost::asio::ip::make_address("127.0.0.1"), 3031}));
    struct Case {
        std::size_t hosts;
        std::size_t encodings;
        const char* encoding;
        status expected;
    };
    for (const auto& c : std::vector<Case>{{1, 0, "", status::ok},
                                           {2, 0, "", status::bad_request},
                                           {1, 1, "chunked", status::ok},
                                           {1, 1, "Chunked", status::ok},
                                           {1, 1, "gzip, chunked", status::bad_request},
                                           {1, 1, "gzip", status::bad_request},
                                           {1, 1, "chunked, chunked", status::bad_request},
                                           {1, 2, "chunked", status::bad_request}}) {
        Incoming request{verb::get, "/tun", "localhost:3031", "", "", "", "", ""};
        request.host_fields = c.hosts;
        request.transfer_encoding_fields = c.encodings;
        request.transfer_encoding = c.encoding;
        auto response = handle_request(policy, health_and_tun(), request);
        EXPECT_EQ(response.code, c.expected) << c.hosts << " Host, Transfer-Encoding: " << c.encoding;
    }
}

} // namespace
} // namespace netd::http
