// tun-daemon's fd socket: who may have a TUN's descriptor, and the lines
// of its protocol.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "netd/error.hpp"
#include "netd/tun/fd_access.hpp"

namespace netd {
namespace {

TunInterface tun(std::optional<std::uint32_t> owner, std::optional<std::uint32_t> group) {
    TunInterface out;
    out.name = "tun0";
    out.owner = owner;
    out.group = group;
    return out;
}

struct AccessCase {
    const char* label;
    DescriptorClaimant claimant;
    TunInterface tun;
    const char* refused; // nullptr: allowed

    friend void PrintTo(const AccessCase& c, std::ostream* out) { *out << c.label; }
};

class DescriptorAccess : public ::testing::TestWithParam<AccessCase> {};

TEST_P(DescriptorAccess, Decides) {
    const auto& c = GetParam();
    auto refusal = descriptor_refusal(c.claimant, c.tun);
    if (!c.refused) {
        EXPECT_EQ(refusal, std::nullopt) << *refusal;
    } else {
        ASSERT_TRUE(refusal) << "allowed";
        EXPECT_EQ(*refusal, c.refused);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DescriptorAccess,
    ::testing::Values(
        AccessCase{"root, a TUN without owner", {0, {0}}, tun(std::nullopt, std::nullopt), nullptr},
        AccessCase{"root, another's TUN", {0, {0}}, tun(1000, 100), nullptr},
        AccessCase{"the owner", {1000, {1000}}, tun(1000, std::nullopt), nullptr},
        AccessCase{"the owner, in no group of it", {1000, {}}, tun(1000, 200), nullptr},
        AccessCase{"the group, as effective group", {2000, {100}}, tun(std::nullopt, 100), nullptr},
        AccessCase{"the group, as a supplementary one", {2000, {2000, 7, 100}}, tun(1000, 100), nullptr},
        AccessCase{"another uid, a TUN without owner", {1000, {1000}}, tun(std::nullopt, std::nullopt),
                   "uid 1000 may not have tun0's descriptor: it belongs to root, so only root may"},
        AccessCase{"another uid, a TUN of root's", {1000, {1000}}, tun(0, std::nullopt),
                   "uid 1000 may not have tun0's descriptor: it belongs to root, so only root may"},
        AccessCase{"another uid", {65533, {65533}}, tun(65534, std::nullopt),
                   "uid 65533 may not have tun0's descriptor: only root, uid 65534 may"},
        AccessCase{"another uid, outside the group", {2000, {2000, 7}}, tun(1000, 100),
                   "uid 2000 may not have tun0's descriptor: only root, uid 1000, or a process in group 100 may"},
        AccessCase{"the owner's gid is not the owner's uid", {100, {1000}}, tun(1000, std::nullopt),
                   "uid 100 may not have tun0's descriptor: only root, uid 1000 may"},
        AccessCase{"a group-only TUN", {2000, {2000}}, tun(std::nullopt, 100),
                   "uid 2000 may not have tun0's descriptor: only root, or a process in group 100 may"}));

TEST(DescriptorRequest, IsANameAnOptionalVnetHdrAndANewline) {
    struct Case {
        const char* line;
        const char* name;
        bool vnet_hdr;
    };
    for (auto [line, name, vnet_hdr] : {Case{"tun0\n", "tun0", false}, Case{"utun7\n", "utun7", false},
                                        Case{"tun0 vnet_hdr\n", "tun0", true}, Case{"nt0 vnet_hdr", "nt0", true}}) {
        auto request = parse_descriptor_request(line);
        EXPECT_EQ(request.name, name) << line;
        EXPECT_EQ(request.vnet_hdr, vnet_hdr) << line;
    }
    for (const char* bad : {"\n", "tun0 extra\n", "../x\n", "a-name-far-too-long\n", "tun\x1b\n", " vnet_hdr\n",
                            "tun0 vnet_hdr vnet_hdr\n", "tun0  vnet_hdr\n", "tun0 VNET_HDR\n"}) {
        try {
            parse_descriptor_request(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::invalid) << bad;
            EXPECT_EQ(std::string(error.what()).find('\x1b'), std::string::npos) << "unescaped";
        }
    }
}

TEST(DescriptorAnswer, IsOneJsonLine) {
    EXPECT_EQ(descriptor_granted({"tun0"}), "{\"name\":\"tun0\"}\n");
    EXPECT_EQ(descriptor_granted({"nt0", true}), "{\"name\":\"nt0\",\"vnet_hdr\":true}\n");
    auto refused = descriptor_refused(Error(ErrorCode::forbidden, "uid 1 may not"));
    EXPECT_EQ(refused, "{\"error\":{\"code\":\"forbidden\",\"message\":\"uid 1 may not\"}}\n");
    // An internal error's details stay in the log.
    auto internal = nlohmann::json::parse(descriptor_refused(Error(ErrorCode::internal, "secret detail")));
    EXPECT_EQ(internal["error"]["code"], "internal");
    EXPECT_EQ(internal["error"]["message"].get<std::string>().find("secret"), std::string::npos);
}

} // namespace
} // namespace netd
