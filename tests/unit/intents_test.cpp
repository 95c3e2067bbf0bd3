#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "case_name.hpp"
#include "fake_kernel.hpp"
#include "netd/error.hpp"
#include "netd/intents.hpp"

namespace netd {
namespace {

using testing::FakeIntentStore;

std::size_t lines_of(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

nlohmann::json record(int n) { return {{"address", "10.0." + std::to_string(n) + ".1/24"}}; }

TEST(Intents, AFreshStoreStartsWithASnapshotThenAppends) {
    FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    intents.put("tun0", record(0));
    EXPECT_EQ(*store.text, R"({"intents":{"tun0":{"address":"10.0.0.1/24"}},"version":5})"
                           "\n");
    intents.put("tun1", record(1));
    intents.erase("tun0");
    intents.erase("never-there");
    EXPECT_EQ(*store.text, R"({"intents":{"tun0":{"address":"10.0.0.1/24"}},"version":5})"
                           "\n"
                           R"({"put":"tun1","record":{"address":"10.0.1.1/24"}})"
                           "\n"
                           R"({"erase":"tun0"})"
                           "\n");
}

TEST(Intents, ReplaysTheJournalAndCompactsItAtLoad) {
    FakeIntentStore store;
    std::string problem;
    {
        Intents intents(store, problem);
        for (int n = 0; n < 5; ++n) intents.put("tun" + std::to_string(n), record(n));
        intents.erase("tun2");
        intents.put("tun1", record(9));
    }
    EXPECT_EQ(lines_of(*store.text), 7u) << "a snapshot with tun0, then six changes";
    Intents reloaded(store, problem);
    EXPECT_EQ(problem, "");
    ASSERT_EQ(reloaded.records().size(), 4u);
    EXPECT_EQ(reloaded.records().at("tun1"), record(9));
    EXPECT_FALSE(reloaded.records().contains("tun2"));
    EXPECT_EQ(lines_of(*store.text), 1u) << "the journal was not folded into a snapshot";
}

TEST(Intents, TheJournalStaysWithinTwiceTheLiveRecords) {
    FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    for (int n = 0; n < 1000; ++n) intents.put("tun" + std::to_string(n), record(n % 250));
    for (int n = 0; n < 1000; n += 2) intents.erase("tun" + std::to_string(n));
    EXPECT_LE(lines_of(*store.text), 1 + 2 * intents.records().size());
    Intents reloaded(store, problem);
    EXPECT_EQ(reloaded.records(), intents.records());
}

TEST(Intents, ALastLineCutShortIsDroppedAndTheFileRewrittenWithoutIt) {
    FakeIntentStore store;
    store.text = R"({"version":2,"intents":{"a":{"address":"10.0.0.1/24"}}})"
                 "\n"
                 R"({"put":"b","record":{"addr)";
    std::string problem;
    Intents intents(store, problem);
    EXPECT_EQ(problem, "");
    ASSERT_EQ(intents.records().size(), 1u);
    EXPECT_TRUE(intents.records().contains("a"));
    // Else the next line would be glued to the piece, and the whole file
    // set aside at the next start.
    EXPECT_EQ(*store.text, R"({"intents":{"a":{"address":"10.0.0.1/24"}},"version":5})"
                           "\n");
    intents.put("c", record(3));
    Intents reloaded(store, problem);
    EXPECT_EQ(problem, "");
    EXPECT_EQ(reloaded.records(), intents.records());
}

TEST(Intents, ReadsVersionOneFiles) {
    FakeIntentStore store;
    store.text = "{\n  \"intents\": {\n    \"tun0\": {\n      \"address\": \"10.0.0.1/24\"\n    }\n  },\n"
                 "  \"version\": 1\n}\n";
    std::string problem;
    Intents intents(store, problem);
    EXPECT_EQ(problem, "");
    EXPECT_EQ(intents.records().at("tun0"), record(0));
    EXPECT_EQ(*store.text, R"({"intents":{"tun0":{"address":"10.0.0.1/24"}},"version":5})"
                           "\n")
        << "not rewritten in this version's form";
}

// Version 4 only added a subnet's "owner" to its record: a version 3
// journal, write-ahead lines and all, loads as it is, and is rewritten in
// version 5's form with nothing lost.
TEST(Intents, ReadsVersionThreeJournals) {
    FakeIntentStore store;
    store.text = R"({"version":3,"intents":{"10.1.0.0/24":{"interface":"lo:0"}},)"
                 R"("pending":{"10.3.0.0/24":{"interface":""}}})"
                 "\n"
                 R"({"begin":"10.2.0.0/24","record":{"interface":""}})"
                 "\n"
                 R"({"put":"10.2.0.0/24","record":{"interface":"lo:1"}})"
                 "\n";
    std::string problem;
    Intents intents(store, problem);
    EXPECT_EQ(problem, "");
    EXPECT_EQ(intents.records(), (std::map<std::string, nlohmann::json>{{"10.1.0.0/24", {{"interface", "lo:0"}}},
                                                                          {"10.2.0.0/24", {{"interface", "lo:1"}}}}));
    EXPECT_EQ(intents.pending().at("10.3.0.0/24"), (nlohmann::json{{"interface", ""}}));
    EXPECT_EQ(*store.text, R"({"intents":{"10.1.0.0/24":{"interface":"lo:0"},"10.2.0.0/24":{"interface":"lo:1"}},)"
                           R"("pending":{"10.3.0.0/24":{"interface":""}},"version":5})"
                           "\n");
    intents.put("10.4.0.0/24", {{"interface", "lo:2"}, {"owner", 65534}});
    Intents reloaded(store, problem);
    EXPECT_EQ(reloaded.records().at("10.4.0.0/24").at("owner"), 65534);
}

TEST(Intents, CorruptOrFutureStateIsSetAside) {
    for (const std::string text :
         {"{not json", R"({"version":99,"intents":{}})", R"({"version":6,"intents":{}})",
          R"({"version":1,"intents":{"a":5}})", R"([1,2])", "",
          "{\"version\":2,\"intents\":{}}\n{\"put\":\"a\"}\n", "{\"version\":2,\"intents\":{}}\n[]\n",
          "{\"version\":2,\"intents\":{}}\nnot json\n{\"erase\":\"a\"}\n"}) {
        FakeIntentStore store;
        store.text = text;
        std::string problem;
        Intents intents(store, problem);
        EXPECT_TRUE(intents.records().empty()) << text;
        EXPECT_NE(problem.find("the state file is unusable"), std::string::npos) << text << ": " << problem;
        EXPECT_EQ(store.aside, text);
        intents.put("a", record(0));
        EXPECT_EQ(lines_of(*store.text), 1u) << "no fresh snapshot after setting " << text << " aside";
    }
}

// Each step is one call; after it, the lines the journal gained and what a
// reload of it makes of it.
TEST(Intents, BeginPutAbandonAndEraseReplay) {
    struct Step {
        const char* op; // begin, put, abandon, erase
        const char* key;
        const char* line; // appended, "" for none
        std::vector<std::string> records, pending;
    };
    std::vector<Step> steps{
        {"put", "a", "", {"a"}, {}}, // the first change writes the snapshot
        {"begin", "b", R"({"begin":"b","record":{"address":"10.0.0.1/24"}})", {"a"}, {"b"}},
        {"put", "b", R"({"put":"b","record":{"address":"10.0.0.1/24"}})", {"a", "b"}, {}},
        {"begin", "c", R"({"begin":"c","record":{"address":"10.0.0.1/24"}})", {"a", "b"}, {"c"}},
        {"abandon", "c", R"({"abandon":"c"})", {"a", "b"}, {}},
        {"abandon", "c", "", {"a", "b"}, {}}, // nothing begun: nothing written
        {"begin", "a", R"({"begin":"a","record":{"address":"10.0.0.1/24"}})", {"a", "b"}, {"a"}},
        {"abandon", "a", R"({"abandon":"a"})", {"a", "b"}, {}}, // the earlier intent for a stays
        {"begin", "d", R"({"begin":"d","record":{"address":"10.0.0.1/24"}})", {"a", "b"}, {"d"}},
        {"erase", "d", R"({"erase":"d"})", {"a", "b"}, {}},
        {"erase", "a", R"({"erase":"a"})", {"b"}, {}},
    };
    FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    for (const auto& step : steps) {
        auto before = store.text.value_or("");
        std::string op = step.op;
        if (op == "begin") intents.begin(step.key, record(0));
        if (op == "put") intents.put(step.key, record(0));
        if (op == "abandon") intents.abandon(step.key);
        if (op == "erase") intents.erase(step.key);
        auto label = op + " " + step.key;
        if (before.empty()) {
            EXPECT_EQ(lines_of(*store.text), 1u) << label;
        } else {
            EXPECT_EQ(store.text->substr(before.size()), std::string(step.line) + (*step.line ? "\n" : "")) << label;
        }
        FakeIntentStore copy;
        copy.text = store.text;
        Intents reloaded(copy, problem);
        EXPECT_EQ(problem, "") << label;
        std::vector<std::string> records, pending;
        for (const auto& [key, _] : reloaded.records()) records.push_back(key);
        for (const auto& [key, _] : reloaded.pending()) pending.push_back(key);
        EXPECT_EQ(records, step.records) << label;
        EXPECT_EQ(pending, step.pending) << label;
        EXPECT_EQ(reloaded.records(), intents.records()) << label;
        EXPECT_EQ(reloaded.pending(), intents.pending()) << label;
    }
}

TEST(Intents, APendingCreateSurvivesCompaction) {
    FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    intents.begin("b", record(1));
    for (int n = 0; n < 100; ++n) intents.put("a", record(n % 3)); // compacts more than once
    Intents reloaded(store, problem);
    EXPECT_EQ(reloaded.pending().size(), 1u);
    EXPECT_EQ(reloaded.pending().at("b"), record(1));
}

// All or nothing: a change the store refuses is not made in memory either,
// is reported until a later one succeeds, and that one rewrites the whole
// file, since the failed write may have left part of a line behind.
TEST(Intents, AChangeTheStoreRefusesIsNotMade) {
    FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    intents.put("a", record(0));
    intents.begin("b", record(1));
    auto saved_records = intents.records();
    auto saved_pending = intents.pending();
    store.refuse = "No space left on device";
    for (const std::string op : {"begin c", "put c", "put a", "put b", "abandon b", "erase a", "erase b"}) {
        auto key = op.substr(op.find(' ') + 1);
        try {
            if (op.starts_with("begin")) intents.begin(key, record(5));
            if (op.starts_with("put")) intents.put(key, record(5));
            if (op.starts_with("abandon")) intents.abandon(key);
            if (op.starts_with("erase")) intents.erase(key);
            ADD_FAILURE() << op << " did not fail";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::unavailable) << op;
            EXPECT_NE(std::string(error.what()).find("No space left on device"), std::string::npos) << op;
        }
        EXPECT_EQ(intents.records(), saved_records) << op;
        EXPECT_EQ(intents.pending(), saved_pending) << op;
    }
    EXPECT_EQ(intents.write_failures(), 7u);
    ASSERT_TRUE(intents.write_problem());
    EXPECT_NE(intents.write_problem()->find("No space left on device"), std::string::npos);

    store.refuse.reset();
    store.text = *store.text + R"({"put":"x","rec)"; // what a short write might have left
    intents.put("c", record(2));
    EXPECT_FALSE(intents.write_problem()) << "still reported after a write succeeded";
    EXPECT_EQ(intents.write_failures(), 7u);
    EXPECT_EQ(lines_of(*store.text), 1u) << "appended after a failure rather than rewritten";
    Intents reloaded(store, problem);
    EXPECT_EQ(problem, "");
    EXPECT_EQ(reloaded.records().size(), 2u);
    EXPECT_EQ(reloaded.pending(), saved_pending);
}

TEST(Intents, AStoreThatCannotBeWrittenDoesNotStopTheLoad) {
    for (const std::string text : {"{\"version\":2,\"intents\":{\"a\":{}}}\n{\"erase\":\"b\"}\n", "{not json"}) {
        FakeIntentStore store;
        store.text = text;
        store.refuse = "Read-only file system";
        std::string problem;
        std::optional<Intents> intents;
        ASSERT_NO_THROW(intents.emplace(store, problem)) << text;
        if (text.starts_with("{not")) {
            EXPECT_NE(problem.find("could not move it aside"), std::string::npos) << problem;
        } else {
            EXPECT_EQ(intents->records().size(), 1u);
            ASSERT_TRUE(intents->write_problem()) << text;
            EXPECT_NE(intents->write_problem()->find("Read-only"), std::string::npos);
        }
        store.refuse.reset();
        intents->put("c", record(2));
        EXPECT_EQ(lines_of(*store.text), 1u) << text << ": the next change did not rewrite the file";
    }
}

// At start: what the kernel has (present) against what the journal says.
TEST(Intents, ReconcileFinishesOrUndoesBegunCreatesAndJournalsWhatItAdopts) {
    FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    intents.put("kept", record(1));
    intents.begin("made", {{"address", "10.0.2.1/24"}, {"owner", "nobody"}});
    intents.begin("half", record(3));
    intents.put("gone", record(4));
    std::map<std::string, nlohmann::json> present{
        {"kept", record(1)},
        {"made", {{"address", "10.0.2.1/24"}, {"owner", "65534"}}}, // the kernel holds ids
        {"stray", record(5)}, // made, then a crash, or the journal lost: journaled now
    };
    auto outcomes = reconcile_intents(intents, present);
    std::map<std::string, std::string> said;
    for (const auto& outcome : outcomes) {
        EXPECT_TRUE(outcome.ok) << outcome.message;
        said[outcome.key] = outcome.message;
    }
    EXPECT_EQ(said.size(), 3u);
    EXPECT_NE(said["made"].find("completed the create of made"), std::string::npos) << said["made"];
    EXPECT_NE(said["half"].find("dropped the create of half"), std::string::npos) << said["half"];
    EXPECT_NE(said["stray"].find("journaled stray"), std::string::npos) << said["stray"];
    EXPECT_TRUE(intents.pending().empty());
    EXPECT_EQ(intents.records().at("made"), (nlohmann::json{{"address", "10.0.2.1/24"}, {"owner", "65534"}}));
    EXPECT_EQ(intents.records().at("stray"), record(5));
    EXPECT_TRUE(intents.records().contains("gone")) << "an intent the kernel lacks is restore()'s to judge";
    EXPECT_FALSE(intents.records().contains("half"));
    Intents reloaded(store, problem);
    EXPECT_EQ(reloaded.records(), intents.records());
    EXPECT_TRUE(reloaded.pending().empty());

    // A second start finds nothing to do; a store that refuses is reported.
    EXPECT_TRUE(reconcile_intents(intents, present).empty());
    store.refuse = "Read-only file system";
    present["late"] = record(6);
    auto refused = reconcile_intents(intents, present);
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_FALSE(refused[0].ok);
    EXPECT_NE(refused[0].message.find("Read-only file system"), std::string::npos) << refused[0].message;
}

// A begun create the kernel holds only part of is undone, not adopted.
TEST(Intents, ReconcileUndoesACreateTheKernelHoldsOnlyPartOf) {
    FakeIntentStore store;
    std::string problem;
    Intents intents(store, problem);
    nlohmann::json asked{{"address", "10.0.2.1/24"}, {"owner", "nobody"}, {"routes", {"10.7.0.0/24", "10.8.0.0/24"}},
                         {"mark", {{"value", 7}, {"table", 70}}}};
    intents.begin("whole", asked);
    intents.begin("half", asked);
    auto made = asked;
    made["owner"] = "65534";
    made["routes"] = {"10.8.0.0/24", "10.7.0.0/24"}; // in the kernel's order
    auto half = made;
    half.erase("mark");
    half["routes"] = {"10.7.0.0/24"};
    std::vector<std::string> undone;
    auto outcomes = reconcile_intents(intents, {{"whole", made}, {"half", half}},
                                      fields_made({"address", "mark"}, {"routes"}),
                                      [&](const std::string& key) { undone.push_back(key); });
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(undone, std::vector<std::string>{"half"});
    EXPECT_TRUE(intents.records().contains("whole"));
    EXPECT_FALSE(intents.records().contains("half"));
    EXPECT_TRUE(intents.pending().empty());

    // A half-made object that cannot be removed stays begun, said as such.
    intents.begin("stuck", asked);
    auto refused = reconcile_intents(intents, {{"stuck", half}}, fields_made({"address", "mark"}, {"routes"}),
                                     [](const std::string&) { throw std::runtime_error("Operation not permitted"); });
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_FALSE(refused[0].ok);
    EXPECT_NE(refused[0].message.find("could not remove stuck"), std::string::npos) << refused[0].message;
    EXPECT_TRUE(intents.pending().contains("stuck"));
    EXPECT_FALSE(intents.records().contains("stuck")) << "what could not be removed was adopted";
}

struct WholeCase {
    const char* what;
    nlohmann::json made;
    bool whole;
};

class FieldsMade : public ::testing::TestWithParam<WholeCase> {};

TEST_P(FieldsMade, JudgesWhatTheKernelShows) {
    nlohmann::json asked{{"address", "10.0.2.1/24"}, {"owner", "alice"}, {"routes", {"10.7.0.0/24", "10.8.0.0/24"}},
                         {"mark", {{"value", 7}, {"table", 70}}}};
    auto check = fields_made({"address", "mark"}, {"routes"});
    EXPECT_EQ(check(asked, GetParam().made), GetParam().whole) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FieldsMade,
    ::testing::Values(
        WholeCase{"all of it, owner as an id", {{"address", "10.0.2.1/24"}, {"owner", "1000"}, {"routes", {"10.8.0.0/24", "10.7.0.0/24"}}, {"mark", {{"value", 7}, {"table", 70}}}}, true},
        WholeCase{"more routes than asked", {{"address", "10.0.2.1/24"}, {"routes", {"10.7.0.0/24", "10.8.0.0/24", "10.9.0.0/24"}}, {"mark", {{"value", 7}, {"table", 70}}}}, true},
        WholeCase{"no mark", {{"address", "10.0.2.1/24"}, {"routes", {"10.7.0.0/24", "10.8.0.0/24"}}}, false},
        WholeCase{"another mark", {{"address", "10.0.2.1/24"}, {"routes", {"10.7.0.0/24", "10.8.0.0/24"}}, {"mark", {{"value", 8}, {"table", 70}}}}, false},
        WholeCase{"a route missing", {{"address", "10.0.2.1/24"}, {"routes", {"10.7.0.0/24"}}, {"mark", {{"value", 7}, {"table", 70}}}}, false},
        WholeCase{"no routes at all", {{"address", "10.0.2.1/24"}, {"mark", {{"value", 7}, {"table", 70}}}}, false},
        WholeCase{"another address", {{"address", "10.0.3.1/24"}, {"routes", {"10.7.0.0/24", "10.8.0.0/24"}}, {"mark", {{"value", 7}, {"table", 70}}}}, false}),
    netd::cases::ByWhat{});

} // namespace
} // namespace netd
