// --user: whom a daemon becomes once it is set up.

#include <gtest/gtest.h>

#include "netd/daemon/daemon.hpp"
#include "netd/error.hpp"

namespace netd::daemon {
namespace {

struct Case {
    const char* label;
    const char* asked;
    std::uint32_t euid;
    bool can_switch, asked_exists;
    const char* become;  // nullptr: refused at start
    bool warn;
    const char* says;    // part of the note, or of the refusal

    friend void PrintTo(const Case& c, std::ostream* out) { *out << c.label; }
};

class ChooseUser : public ::testing::TestWithParam<Case> {};

TEST_P(ChooseUser, Decides) {
    const auto& c = GetParam();
    try {
        auto choice = choose_user(c.asked, c.euid, c.can_switch, c.asked_exists);
        ASSERT_NE(c.become, nullptr) << "allowed: " << choice.note;
        EXPECT_EQ(choice.become, c.become);
        EXPECT_EQ(choice.warn, c.warn);
        EXPECT_NE(choice.note.find(c.says), std::string::npos) << choice.note;
    } catch (const Error& error) {
        ASSERT_EQ(c.become, nullptr) << "refused: " << error.what();
        EXPECT_EQ(error.code(), ErrorCode::invalid);
        EXPECT_NE(std::string(error.what()).find(c.says), std::string::npos) << error.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Users, ChooseUser,
    ::testing::Values(
        Case{"root becomes netd", "netd", 0, true, true, "netd", false, "runs as the user netd"},
        Case{"root becomes a named user", "vpn", 0, true, true, "vpn", false, "runs as the user vpn"},
        Case{"no netd: stays root, warned, never nobody", "netd", 0, true, false, "", true,
             "there is no user netd (make install creates it"},
        Case{"a named user that is missing is refused, not replaced", "vpn", 0, true, false, nullptr, false,
             "there is no user vpn"},
        Case{"root itself is refused", "root", 0, true, true, nullptr, false, "--user root"},
        Case{"uid 0 by number is refused", "0", 0, true, true, nullptr, false, "--user root"},
        Case{"started as the unit's user: stays", "netd", 998, false, true, "", false, "runs as uid 998"},
        Case{"root without CAP_SETUID stays root, warned", "netd", 0, false, true, "", true,
             "stays root, with CAP_NET_ADMIN alone"}));

} // namespace
} // namespace netd::daemon
