// The spec's own flow, typed as it is written there: curl with -d alone,
// which labels the JSON as a form (application/x-www-form-urlencoded).

#include <cstdio>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon_process.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class SpecFlowTest : public NetnsTest {};

// curl's output, the last line being the status it printed.
std::pair<std::string, std::string> curl(const std::string& args) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(
        ::popen(("curl -s -w '\\n%{http_code}' " + args + " 2>/dev/null").c_str(), "r"), ::pclose);
    if (!pipe) return {"", ""};
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) out.append(buffer, n);
    auto newline = out.rfind('\n');
    if (newline == std::string::npos) return {"", out};
    return {out.substr(0, newline), out.substr(newline + 1)};
}

TEST_F(SpecFlowTest, CurlWithDashDAloneWorksAsTheSpecWritesIt) {
    if (std::system("curl --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not installed";
    auto tuns = start_tun_daemon();
    auto subnets = start_subnet_daemon();

    auto [tun, tun_status] = curl("-X POST localhost:3030/tun -d '{\"name\":\"spec0\"}'");
    ASSERT_EQ(tun_status, "201") << tun;
    auto created = nlohmann::json::parse(tun);
    EXPECT_EQ(created["name"], "spec0");
    for (const auto* field : {"ip_addr", "netmask", "broadcast"}) EXPECT_TRUE(created.contains(field)) << tun;

    auto [subnet, subnet_status] = curl("-X POST localhost:3031/subnet -d '{\"cidr\":\"10.1.0.0/24\"}'");
    ASSERT_EQ(subnet_status, "201") << subnet;
    auto added = nlohmann::json::parse(subnet);
    EXPECT_EQ(added["network"], "10.1.0.0/24");
    EXPECT_TRUE(added.contains("interface")) << subnet;
    EXPECT_EQ(curl("-X DELETE localhost:3031/subnet/10.1.0.0%2F24").second, "204");

    // A real form is still no JSON.
    EXPECT_EQ(curl("-X POST localhost:3030/tun -d 'name=spec1'").second, "415");
}

} // namespace
} // namespace netd::testing
