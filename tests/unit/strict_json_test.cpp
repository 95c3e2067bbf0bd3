#include <gtest/gtest.h>

#include "case_name.hpp"
#include "netd/error.hpp"
#include "netd/strict_json.hpp"

namespace netd {
namespace {

struct StrictCase {
    const char* what;
    std::string text;
    const char* error; // "" when it parses
};

class StrictJson : public testing::TestWithParam<StrictCase> {};

TEST_P(StrictJson, RefusesWhatTwoParsersWouldReadDifferently) {
    const auto& c = GetParam();
    if (std::string(c.error).empty()) {
        EXPECT_NO_THROW(parse_strict_json(c.text, 4));
        return;
    }
    try {
        parse_strict_json(c.text, 4);
        FAIL() << "parsed";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::invalid);
        EXPECT_NE(std::string(error.what()).find(c.error), std::string::npos) << error.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StrictJson,
    testing::Values(StrictCase{"an array at the top", R"([{"a": 1}, {"a": 2}])", ""},
                    StrictCase{"the same key in two objects", R"({"a": {"k": 1}, "b": {"k": 2}})", ""},
                    StrictCase{"a key twice", R"({"a": 1, "a": 2})", "the key \"a\" is given more than once"},
                    StrictCase{"a key twice, nested", R"([{"a": {"k": 1, "k": 1}}])", "\"k\" is given more than once"},
                    StrictCase{"at the depth allowed", "[[[[1]]]]", ""},
                    StrictCase{"past it", "[[[[[1]]]]]", "nested too deeply"},
                    StrictCase{"deep past any stack", std::string(100000, '[') + std::string(100000, ']'),
                               "nested too deeply"},
                    StrictCase{"broken", R"({"a":)", "not valid JSON"},
                    StrictCase{"trailing", "{} x", "not valid JSON"}),
    netd::cases::ByWhat{});

} // namespace
} // namespace netd
