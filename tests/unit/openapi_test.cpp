// docs/openapi.yaml documents exactly the routes the daemons serve: every
// route the routers know is in the document, and every path and method in
// the document is served.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "fake_kernel.hpp"
#include "netd/daemon/daemon.hpp"
#include "netd/subnet/routes.hpp"
#include "netd/tun/routes.hpp"

namespace netd {
namespace {

using Route = std::pair<std::string, std::string>; // method (lower case), path with {} for parameters

std::string normalized(const std::string& path) { return std::regex_replace(path, std::regex(R"(\{[^}]*\})"), "{}"); }

std::string lower(std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// The (method, path) pairs under `paths:`: paths at two spaces of indent,
// methods at four.
std::set<Route> documented_routes() {
    std::ifstream in(std::string(NETD_SOURCE_DIR) + "/docs/openapi.yaml");
    EXPECT_TRUE(in) << "docs/openapi.yaml is missing";
    std::set<Route> routes;
    std::regex path_line(R"(^  (/[^:]*):\s*$)"), method_line(R"(^    (get|post|put|patch|delete):\s*$)");
    bool in_paths = false;
    std::string path;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != ' ') in_paths = line == "paths:";
        std::smatch match;
        if (!in_paths) continue;
        if (std::regex_match(line, match, path_line)) path = normalized(match[1]);
        if (std::regex_match(line, match, method_line)) routes.insert({match[1], path});
    }
    return routes;
}

std::set<Route> served_routes() {
    testing::FakeKernel kernel;
    testing::FakeTunBackend tun_backend(kernel);
    testing::FakeSubnetBackend subnet_backend(kernel);
    testing::FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    TunService tuns(tun_backend, kernel, intents, net::Cidr::parse("10.0.0.0/8"), net::Cidr::parse("fd00:1::/48"));
    SubnetService subnets(subnet_backend, kernel, intents, {.pool = net::Cidr::parse("10.0.0.0/8")});
    http::Metrics metrics;
    http::Router tun_router, subnet_router;
    add_tun_routes(tun_router, tuns);
    add_subnet_routes(subnet_router, subnets);
    std::set<Route> routes;
    for (auto* router : {&tun_router, &subnet_router}) {
        daemon::add_status_routes(*router, metrics, {[] {}, [] { return std::vector<http::Gauge>{}; }});
        daemon::add_cluster_routes(*router, local_coordinator());
        for (const auto& route : router->routes()) {
            routes.insert({lower(std::string(to_string(route.method))), normalized(route.pattern)});
        }
    }
    return routes;
}

TEST(OpenApi, DocumentsExactlyTheServedRoutes) {
    auto documented = documented_routes();
    auto served = served_routes();
    ASSERT_FALSE(documented.empty());
    for (const auto& [method, path] : served) {
        EXPECT_TRUE(documented.contains({method, path})) << method << " " << path << " is served but not documented";
    }
    for (const auto& [method, path] : documented) {
        EXPECT_TRUE(served.contains({method, path})) << method << " " << path << " is documented but not served";
    }
}

} // namespace
} // namespace netd
