// Who gives way when the connections run out: tables of connections coming,
// going busy and idle, and leaving, with who was admitted, who was evicted
// to make room, and who was answered 503.

#include <map>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "netd/http/connection_budget.hpp"

namespace netd::http {
namespace {

class FakeConnection : public ConnectionBudget::Connection {
public:
    FakeConnection(std::string name, std::vector<std::string>& evicted) : name_(std::move(name)), evicted_(evicted) {}
    void evict() override { evicted_.push_back(name_); }

private:
    std::string name_;
    std::vector<std::string>& evicted_;
};

struct BudgetCase {
    const char* label;
    std::size_t cap;
    std::size_t reserved;
    // "+u1" a connection of a caller who is not privileged, "+p1" of a
    // privileged one (the Unix socket, an admin); "busy u1" (a request in
    // flight), "idle u1" (waiting for a request, or reading one), "-u1" closed.
    std::vector<std::string> steps;
    // Each admission: "u4" admitted, "u4(-u1)" once u1 was evicted, "u4:503"
    // refused.
    const char* trace;

    friend void PrintTo(const BudgetCase& c, std::ostream* out) { *out << c.label; }
};

class BudgetTable : public ::testing::TestWithParam<BudgetCase> {};

TEST_P(BudgetTable, MakesRoomFromTheIdle) {
    const auto& c = GetParam();
    ConnectionBudget budget(c.cap, c.reserved);
    std::vector<std::string> evicted;
    std::map<std::string, std::unique_ptr<FakeConnection>> connections;
    std::ostringstream trace;
    for (const auto& step : c.steps) {
        if (step[0] == '+') {
            auto name = step.substr(1);
            auto& connection = connections[name] = std::make_unique<FakeConnection>(name, evicted);
            evicted.clear();
            auto admission = budget.admit(*connection, name[0] == 'p');
            trace << name;
            if (admission == ConnectionBudget::Admission::refused) trace << ":503";
            for (const auto& gone : evicted) trace << "(-" << gone << ")";
            EXPECT_EQ(admission == ConnectionBudget::Admission::evicted_one, !evicted.empty()) << step;
            trace << " ";
        } else if (step[0] == '-') {
            budget.leave(*connections.at(step.substr(1)));
        } else if (step.rfind("busy ", 0) == 0) {
            budget.busy(*connections.at(step.substr(5)));
        } else if (step.rfind("idle ", 0) == 0) {
            budget.idle(*connections.at(step.substr(5)));
        } else {
            FAIL() << "no such step: " << step;
        }
        EXPECT_LE(budget.open(), c.cap) << "after " << step;
    }
    auto text = trace.str();
    if (!text.empty()) text.pop_back();
    EXPECT_EQ(text, c.trace);
}

// Four connections, one of them kept for privileged callers: the others
// may hold three.
INSTANTIATE_TEST_SUITE_P(
    Table, BudgetTable,
    ::testing::Values(
        BudgetCase{"room_for_all", 4, 1, {"+u1", "+u2", "+u3"}, "u1 u2 u3"},
        BudgetCase{"past_their_share_others_evict_their_own_idle_longest", 4, 1, {"+u1", "+u2", "+u3", "+u4", "+u5"},
                   "u1 u2 u3 u4(-u1) u5(-u2)"},
        BudgetCase{"the_reserve_stays_for_the_privileged", 4, 1, {"+u1", "+u2", "+u3", "+u4", "+p1"},
                   "u1 u2 u3 u4(-u1) p1"},
        BudgetCase{"at_the_cap_the_privileged_evict_others_first", 4, 1, {"+p1", "+u1", "+u2", "+u3", "+p2"},
                   "p1 u1 u2 u3 p2(-u1)"},
        BudgetCase{"and_then_their_own_idle_longest", 4, 1,
                   {"+p1", "+p2", "+u1", "+u2", "busy u1", "busy u2", "+p3"}, "p1 p2 u1 u2 p3(-p1)"},
        BudgetCase{"a_request_in_flight_never_gives_way", 4, 1, {"+u1", "+u2", "+u3", "busy u1", "+u4"},
                   "u1 u2 u3 u4(-u2)"},
        BudgetCase{"idle_again_counts_from_now", 4, 1, {"+u1", "+u2", "+u3", "busy u1", "idle u1", "+u4"},
                   "u1 u2 u3 u4(-u2)"},
        // A slowloris: its read began (idle) before the others waited.
        BudgetCase{"a_read_begun_long_ago_is_idle_since_it_began", 4, 1,
                   {"+u1", "+u2", "+u3", "busy u1", "idle u2", "idle u1", "idle u3", "+u4"}, "u1 u2 u3 u4(-u2)"},
        BudgetCase{"503_only_when_every_one_has_a_request_in_flight", 4, 1,
                   {"+u1", "+u2", "+u3", "busy u1", "busy u2", "busy u3", "+u4", "+p1", "+p2", "busy p2", "+p3"},
                   "u1 u2 u3 u4:503 p1 p2(-p1) p3:503"},
        BudgetCase{"others_take_a_privileged_idle_one_only_beyond_the_reserve", 4, 1,
                   {"+p1", "+p2", "+p3", "+u1", "busy u1", "+u2"}, "p1 p2 p3 u1 u2(-p1)"},
        BudgetCase{"others_past_their_share_never_take_a_privileged_one", 4, 1,
                   {"+p1", "+u1", "+u2", "+u3", "busy u1", "busy u2", "busy u3", "+u4"}, "p1 u1 u2 u3 u4:503"},
        BudgetCase{"leaving_makes_room", 4, 1, {"+u1", "+u2", "+u3", "-u1", "+u4"}, "u1 u2 u3 u4"},
        BudgetCase{"an_evicted_one_is_not_counted_twice", 4, 1,
                   {"+u1", "+u2", "+u3", "+u4", "-u1", "+u5", "-u4", "+u6"}, "u1 u2 u3 u4(-u1) u5(-u2) u6"},
        BudgetCase{"a_refused_one_is_not_counted", 1, 0, {"+u1", "busy u1", "+u2", "-u2", "+u3", "-u1", "+u4"},
                   "u1 u2:503 u3:503 u4"},
        BudgetCase{"no_reserve", 2, 0, {"+u1", "+u2", "+u3"}, "u1 u2 u3(-u1)"}));

TEST(ConnectionBudget, RefusesLimitsThatLeaveNoRoom) {
    EXPECT_THROW(ConnectionBudget(0, 0), Error);
    EXPECT_THROW(ConnectionBudget(4, 4), Error);
    EXPECT_NO_THROW(ConnectionBudget(4, 3));
}

} // namespace
} // namespace netd::http
