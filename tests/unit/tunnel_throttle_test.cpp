#include <gtest/gtest.h>

#include "case_name.hpp"
#include "netd/tunnel_throttle.hpp"

namespace netd::tunnel {
namespace {

using namespace std::chrono_literals;
using Clock = AuthThrottle::Clock;

struct Step {
    const char* caller;
    Clock::duration at;
    bool fails;   // record a failure after the check
    bool allowed; // what allowed() must say first
};

struct ThrottleCase {
    const char* what;
    std::vector<Step> steps;
};

class Throttle : public testing::TestWithParam<ThrottleCase> {};

TEST_P(Throttle, RefusesAfterTheLimitWithinTheWindow) {
    AuthThrottle throttle(3, 10s, 4);
    auto start = Clock::now();
    for (std::size_t i = 0; i < GetParam().steps.size(); ++i) {
        const auto& step = GetParam().steps[i];
        EXPECT_EQ(throttle.allowed(step.caller, start + step.at), step.allowed) << "step " << i;
        if (step.fails) throttle.failed(step.caller, start + step.at);
    }
    EXPECT_LE(throttle.followed(), 4u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Throttle,
    testing::Values(
        ThrottleCase{"three failures then refused",
                     {{"a", 0s, true, true}, {"a", 1s, true, true}, {"a", 2s, true, true}, {"a", 3s, false, false}}},
        ThrottleCase{"allowed again a window after the first",
                     {{"a", 0s, true, true}, {"a", 1s, true, true}, {"a", 2s, true, true}, {"a", 10s, false, true}}},
        ThrottleCase{"one caller's failures are not another's",
                     {{"a", 0s, true, true}, {"a", 0s, true, true}, {"a", 0s, true, true}, {"b", 1s, false, true},
                      {"a", 1s, false, false}}},
        ThrottleCase{"successes do not count",
                     {{"a", 0s, false, true}, {"a", 0s, false, true}, {"a", 0s, false, true}, {"a", 0s, false, true}}},
        ThrottleCase{"a flood of callers forgets the oldest, never grows",
                     {{"a", 0s, true, true}, {"a", 0s, true, true}, {"a", 0s, true, true}, {"b", 1s, true, true},
                      {"c", 2s, true, true}, {"d", 3s, true, true}, {"e", 4s, true, true}, {"a", 5s, false, true}}}),
    netd::cases::ByWhat{});

} // namespace
} // namespace netd::tunnel
