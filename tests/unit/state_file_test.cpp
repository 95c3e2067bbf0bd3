// The journal's file on a real file system (a temporary directory): what
// the sync thread may see while compaction swaps the file, and what a write
// that stops mid-line leaves behind.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "state_file.hpp"

namespace netd::platform {
namespace {

class StateFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        directory = ::testing::TempDir() + "netd-state-file-" + std::to_string(getpid());
        std::filesystem::remove_all(directory);
    }
    void TearDown() override { std::filesystem::remove_all(directory); }

    std::string text() const {
        std::ifstream in(directory + "/intents.jsonl");
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

    std::string directory;
};

TEST_F(StateFileTest, TwoFilesSetAsideInOneSecondAreBothKept) {
    StateFile file(directory, "intents.jsonl", "state.json");
    std::set<std::string> kept;
    for (const char* text : {"first\n", "second\n", "third\n"}) {
        file.replace(text);
        kept.insert(file.set_aside());
    }
    EXPECT_EQ(kept.size(), 3u);
    std::set<std::string> texts;
    for (const auto& path : kept) {
        std::ifstream in(path);
        std::string line;
        std::getline(in, line);
        texts.insert(line);
    }
    EXPECT_EQ(texts, (std::set<std::string>{"first", "second", "third"}));
}

// Compaction used to leave the sync thread a file to sync that it had just
// closed (a null pointer: SIGSEGV), whenever lines appended within the last
// 10 ms were still waiting for their sync; and so did stopping the daemon
// in a burst of changes.
TEST_F(StateFileTest, AppendsAndReplacesRaceTheSyncThreadSafely) {
    for (int round = 0; round < 20; ++round) {
        StateFile file(directory, "intents.jsonl", "state.json");
        for (int n = 0; n < 5; ++n) {
            file.replace("snapshot " + std::to_string(n) + "\n");
            file.append("line a\n");
            file.append("line b\n");
        }
        file.replace("last\n");
        file.append("tail\n");
        file.replace("final\n"); // then the destructor stops the sync thread
    }
    EXPECT_EQ(text(), "final\n");
}

// RLIMIT_FSIZE cuts a write short exactly as a full disk does: part of the
// line is written and the call reports that count, not an error.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        getrlimit(RLIMIT_FSIZE, &saved_);
        previous_ = signal(SIGXFSZ, SIG_IGN); // else the next write kills the process
        rlimit limited{bytes, saved_.rlim_max};
        active_ = setrlimit(RLIMIT_FSIZE, &limited) == 0;
    }
    ~FileSizeLimit() {
        setrlimit(RLIMIT_FSIZE, &saved_);
        signal(SIGXFSZ, previous_);
    }
    bool active() const { return active_; }

private:
    rlimit saved_{};
    sighandler_t previous_{};
    bool active_ = false;
};

TEST_F(StateFileTest, AShortWriteIsCutOffAndReportedWithItsErrno) {
    StateFile file(directory, "intents.jsonl", "state.json");
    const std::string snapshot = "{\"version\":3,\"intents\":{}}\n";
    file.replace(snapshot);
    file.append("{\"erase\":\"a\"}\n");
    auto good = text();
    std::string message;
    {
        FileSizeLimit limit(good.size() + 10);
        if (!limit.active()) GTEST_SKIP() << "cannot lower RLIMIT_FSIZE here";
        try {
            file.append("{\"put\":\"tun0\",\"record\":{\"address\":\"10.0.0.1/24\"}}\n");
            ADD_FAILURE() << "a write cut short was taken for a whole one";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::unavailable);
            message = error.what();
        }
    }
    EXPECT_NE(message.find(std::strerror(ENOSPC)), std::string::npos) << message;
    EXPECT_EQ(message.find("Success"), std::string::npos) << message;
    EXPECT_EQ(text(), good) << "the piece written was left in the journal";
    file.append("{\"erase\":\"b\"}\n");
    EXPECT_EQ(text(), good + "{\"erase\":\"b\"}\n") << "the next line is not a line of its own";
}

} // namespace
} // namespace netd::platform
