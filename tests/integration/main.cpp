#include <gtest/gtest.h>

// Each test enters a network namespace of its own (see NetnsTest), which
// unshare() allows only while the process has a single thread: so no
// gtest_main, nothing here that starts threads.
int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
