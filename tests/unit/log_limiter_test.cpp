// Bounded logging: the summariser of repeated events, driven by a clock the
// test moves, and the escaping and cutting of what clients send.

#include <chrono>
#include <sstream>

#include <gtest/gtest.h>

#include "netd/http/log_limiter.hpp"
#include "netd/http/log_text.hpp"

namespace netd::http {
namespace {

using namespace std::chrono_literals;
using Clock = LogLimiter::Clock;

// One step: at `ms` since the start, an event of `key`, or a sweep when the
// key is "sweep" (every window that ended) or "sweep all" (at shutdown).
struct Step {
    int ms;
    const char* key;
};

struct LimiterCase {
    const char* label;
    LogLimits limits;
    std::vector<Step> steps;
    // Each event's fate, "L" logged or "H" held back, and each summary,
    // "key+held/ms", in the order they came.
    const char* trace;

    friend void PrintTo(const LimiterCase& c, std::ostream* out) { *out << c.label; }
};

class LimiterTable : public ::testing::TestWithParam<LimiterCase> {};

TEST_P(LimiterTable, LogsTheFirstAndSummarisesTheRest) {
    const auto& c = GetParam();
    auto start = Clock::time_point(1h); // any point: the limiter must not assume the clock's epoch
    auto now = start;
    std::ostringstream trace;
    LogLimiter limiter(
        c.limits,
        [&](const LogLimiter::Summary& summary) {
            trace << summary.key << "+" << summary.held << "/"
                  << std::chrono::duration_cast<std::chrono::milliseconds>(summary.over).count() << "ms ";
        },
        [&] { return now; });
    for (const auto& step : c.steps) {
        now = start + std::chrono::milliseconds(step.ms);
        std::string key = step.key;
        if (key == "sweep") {
            limiter.sweep();
        } else if (key == "sweep all") {
            limiter.sweep(true);
        } else {
            trace << (limiter.admit(key) ? "L " : "H ");
        }
    }
    auto text = trace.str();
    if (!text.empty()) text.pop_back();
    EXPECT_EQ(text, c.trace);
}

LogLimits limits(std::size_t per_key, std::size_t total = 20, std::size_t keys = 32) {
    return {per_key, total, 10s, keys, "others"};
}

INSTANTIATE_TEST_SUITE_P(
    Table, LimiterTable,
    ::testing::Values(
        LimiterCase{"under_the_burst_nothing_is_held", limits(5), {{0, "a"}, {1, "a"}, {2, "a"}, {10000, "sweep"}},
                    "L L L"},
        LimiterCase{"past_the_burst_one_summary_when_the_window_ends",
                    limits(2),
                    {{0, "a"}, {1, "a"}, {2, "a"}, {3, "a"}, {9999, "sweep"}, {10000, "sweep"}, {20000, "sweep"}},
                    "L L H H a+2/10000ms"},
        LimiterCase{"the_window_runs_from_the_keys_first_event",
                    limits(1),
                    {{0, "a"}, {5000, "a"}, {9999, "a"}, {10000, "a"}},
                    "L H H a+2/10000ms L"},
        LimiterCase{"a_summary_comes_before_the_next_windows_lines",
                    limits(2),
                    {{0, "a"}, {1, "a"}, {2, "a"}, {10500, "a"}, {10501, "a"}, {10502, "a"}, {30000, "sweep"}},
                    "L L H a+1/10000ms L L H a+1/10000ms"},
        LimiterCase{"keys_are_counted_apart",
                    limits(1),
                    {{0, "uid 1"}, {1, "uid 2"}, {2, "uid 1"}, {3, "uid 2"}, {4, "uid 2"}, {10003, "sweep"}},
                    "L L H H H uid 1+1/10000ms uid 2+2/10000ms"},
        LimiterCase{"many_keys_share_the_total",
                    limits(5, 3),
                    {{0, "a"}, {1, "b"}, {2, "c"}, {3, "d"}, {4, "a"}, {10004, "sweep"}},
                    "L L L H H a+1/10000ms d+1/10000ms"},
        LimiterCase{"the_total_renews_each_window",
                    limits(5, 1),
                    {{0, "a"}, {1, "b"}, {10001, "b"}, {10002, "a"}},
                    "L H b+1/10000ms L H"},
        LimiterCase{"past_the_table_new_keys_share_one_entry",
                    limits(1, 20, 2),
                    {{0, "a"}, {1, "b"}, {2, "c"}, {3, "d"}, {4, "c"}, {5, "a"}, {10005, "sweep"}},
                    "L L L H H H a+1/10000ms others+2/10000ms"},
        LimiterCase{"an_ended_window_frees_its_entry",
                    limits(1, 20, 1),
                    {{0, "a"}, {1, "b"}, {10001, "b"}, {10002, "b"}, {10003, "c"}, {20003, "sweep"}},
                    "L L L H L b+1/10000ms"},
        LimiterCase{"at_shutdown_everything_held_is_reported",
                    limits(1),
                    {{0, "a"}, {1, "a"}, {3000, "sweep"}, {3000, "sweep all"}, {4000, "a"}},
                    "L H a+1/3000ms L"}));

TEST(LogLimiter, SaysWhetherASummaryIsToCome) {
    auto now = Clock::time_point(1h);
    LogLimiter limiter(limits(1), [](const LogLimiter::Summary&) {}, [&] { return now; });
    EXPECT_FALSE(limiter.holding());
    EXPECT_TRUE(limiter.admit("a"));
    EXPECT_FALSE(limiter.holding()) << "nothing was held back yet";
    EXPECT_FALSE(limiter.admit("a"));
    EXPECT_TRUE(limiter.holding());
    now += 10s;
    limiter.sweep();
    EXPECT_FALSE(limiter.holding());
}

// A flood from ever new keys (addresses) for a minute: the lines stay within
// `total` single lines and keys + 1 summaries per window.
TEST(LogLimiter, AFloodOfKeysStaysBounded) {
    auto now = Clock::time_point(1h);
    std::size_t lines = 0;
    std::uint64_t held = 0;
    LogLimiter limiter(limits(5, 20, 32), [&](const LogLimiter::Summary& summary) {
        ++lines;
        held += summary.held;
    }, [&] { return now; });
    std::uint64_t logged = 0;
    const int events = 60000;
    for (int i = 0; i < events; ++i) {
        now += 1ms;
        if (limiter.admit("10.0." + std::to_string(i % 7919 / 256) + "." + std::to_string(i % 256))) ++logged;
    }
    limiter.sweep(true);
    EXPECT_EQ(logged + held, std::uint64_t(events)) << "an event was neither logged nor counted";
    const std::size_t windows = 60 / 10 + 1;
    EXPECT_LE(logged, windows * 20);
    EXPECT_LE(lines, windows * (32 + 1));
}

struct TextCase {
    const char* label;
    std::string text;
    std::size_t limit;
    std::string logged;

    friend void PrintTo(const TextCase& c, std::ostream* out) { *out << c.label; }
};

class LoggableTable : public ::testing::TestWithParam<TextCase> {};

TEST_P(LoggableTable, EscapesAndCuts) {
    const auto& c = GetParam();
    EXPECT_EQ(loggable(c.text, c.limit), c.logged);
}

INSTANTIATE_TEST_SUITE_P(
    Table, LoggableTable,
    ::testing::Values(TextCase{"plain", "/tun/tun0?x=1", 128, "/tun/tun0?x=1"},
                      TextCase{"a_forged_line", "/x\n2026-01-01 [info] POST /tun 201", 128,
                               "/x\\n2026-01-01 [info] POST /tun 201"},
                      TextCase{"terminal_escapes", "\x1b[2J\r\t", 128, "\\x1b[2J\\r\\t"},
                      TextCase{"nul_and_del", std::string("a\0b\x7f", 4), 128, "a\\x00b\\x7f"},
                      TextCase{"not_ascii", "/tun/\xff\xfe", 128, "/tun/\\xff\\xfe"},
                      TextCase{"backslash", "a\\nb", 128, "a\\\\nb"},
                      TextCase{"exactly_the_limit", std::string(128, 'a'), 128, std::string(128, 'a')},
                      TextCase{"over_the_limit", std::string(8000, 'a'), 128,
                               std::string(128, 'a') + "...[+7872 bytes]"},
                      TextCase{"an_escape_is_never_split", "abcd\n", 5, "abcd...[+1 bytes]"},
                      TextCase{"empty", "", 128, ""}));

} // namespace
} // namespace netd::http
