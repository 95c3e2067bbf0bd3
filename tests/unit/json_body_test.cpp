#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "netd/http/json_body.hpp"

namespace netd::http {
namespace {

struct BodyCase {
    const char* label;
    std::string text;
    const char* error; // a fragment of the message, or nullptr when valid

    friend void PrintTo(const BodyCase& c, std::ostream* out) { *out << c.label; }
};

class JsonBodyTest : public ::testing::TestWithParam<BodyCase> {};

TEST_P(JsonBodyTest, ParsesStrictly) {
    const auto& c = GetParam();
    auto parse = [&] {
        JsonBody body(c.text, {"name", "size"});
        body.string("name");
        body.integer("size", 1, 100);
    };
    if (!c.error) {
        EXPECT_NO_THROW(parse());
        return;
    }
    try {
        parse();
        FAIL() << "accepted " << c.text;
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::invalid);
        EXPECT_NE(std::string(error.what()).find(c.error), std::string::npos) << error.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonBodyTest,
    ::testing::Values(
        BodyCase{"empty", "", nullptr},
        BodyCase{"whitespace", " \n", nullptr},
        BodyCase{"empty_object", "{}", nullptr},
        BodyCase{"fields", R"({"name":"tun0","size":5})", nullptr},
        BodyCase{"null_field", R"({"name":null})", nullptr},
        BodyCase{"broken", R"({"name":)", "not valid JSON"},
        BodyCase{"trailing", R"({} x)", "not valid JSON"},
        BodyCase{"number_overflow", R"({"size":9333.3333333e9333})", "not valid JSON"},
        BodyCase{"array", "[]", "must be a JSON object, not array"},
        BodyCase{"string", R"("tun0")", "must be a JSON object, not string"},
        BodyCase{"unknown_field", R"({"nmae":"tun0"})", "unknown field \"nmae\"; known fields: name, size"},
        BodyCase{"number_name", R"({"name":5})", "\"name\" must be a string, not number"},
        BodyCase{"object_name", R"({"name":{}})", "\"name\" must be a string, not object"},
        BodyCase{"string_size", R"({"size":"5"})", "\"size\" must be an integer, not string"},
        BodyCase{"float_size", R"({"size":5.5})", "\"size\" must be an integer"},
        BodyCase{"size_low", R"({"size":0})", "from 1 to 100, not 0"},
        BodyCase{"size_high", R"({"size":101})", "from 1 to 100, not 101"},
        BodyCase{"size_huge", R"({"size":18446744073709551615})", "from 1 to 100"},
        BodyCase{"size_negative", R"({"size":-5})", "from 1 to 100, not -5"},
        BodyCase{"deep", std::string(100, '[') + std::string(100, ']'), "nested too deeply"},
        BodyCase{"duplicate_key", R"({"name":"a","name":"b"})", "the key \"name\" is given more than once"},
        BodyCase{"duplicate_unknown_key", R"({"size":1,"x":1,"x":2})", "more than once"},
        BodyCase{"duplicate_nested_key", R"({"name":{"a":1,"a":2}})", "more than once"},
        BodyCase{"same_key_in_two_objects", R"({"name":null,"size":5})", nullptr}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(JsonBody, NoFieldsAllowed) {
    EXPECT_NO_THROW(JsonBody("{}", {}));
    try {
        JsonBody("{\"a\":1}", {});
        FAIL();
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("takes no fields"), std::string::npos) << error.what();
    }
}

} // namespace
} // namespace netd::http
