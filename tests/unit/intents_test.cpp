#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fake_kernel.hpp"
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
    EXPECT_EQ(*store.text, R"({"intents":{"tun0":{"address":"10.0.0.1/24"}},"version":2})"
                           "\n");
    intents.put("tun1", record(1));
    intents.erase("tun0");
    intents.erase("never-there");
    EXPECT_EQ(*store.text, R"({"intents":{"tun0":{"address":"10.0.0.1/24"}},"version":2})"
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

TEST(Intents, ALastLineCutShortIsDropped) {
    FakeIntentStore store;
    store.text = R"({"version":2,"intents":{"a":{"address":"10.0.0.1/24"}}})"
                 "\n"
                 R"({"put":"b","record":{"addr)";
    std::string problem;
    Intents intents(store, problem);
    EXPECT_EQ(problem, "");
    ASSERT_EQ(intents.records().size(), 1u);
    EXPECT_TRUE(intents.records().contains("a"));
}

TEST(Intents, ReadsVersionOneFiles) {
    FakeIntentStore store;
    store.text = "{\n  \"intents\": {\n    \"tun0\": {\n      \"address\": \"10.0.0.1/24\"\n    }\n  },\n"
                 "  \"version\": 1\n}\n";
    std::string problem;
    Intents intents(store, problem);
    EXPECT_EQ(problem, "");
    EXPECT_EQ(intents.records().at("tun0"), record(0));
    EXPECT_EQ(*store.text, R"({"intents":{"tun0":{"address":"10.0.0.1/24"}},"version":2})"
                           "\n")
        << "not rewritten in this version's form";
}

TEST(Intents, CorruptOrFutureStateIsSetAside) {
    for (const std::string text :
         {"{not json", R"({"version":99,"intents":{}})", R"({"version":1,"intents":{"a":5}})", R"([1,2])", "",
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

} // namespace
} // namespace netd
