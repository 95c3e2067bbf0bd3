#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "netd/http/rendered_list.hpp"
#include "netd/http/router.hpp"

namespace netd::http {
namespace {

// A router whose handlers echo what they were given, to test matching.
Router echo_router() {
    Router router;
    auto echo = [](const Request& request) {
        return Response::json(status::ok, {{"params", request.params}, {"body", request.body}});
    };
    router.add(verb::get, "/tun", echo);
    router.add(verb::post, "/tun", echo);
    router.add(verb::get, "/tun/{}", echo);
    router.add(verb::delete_, "/tun/{}", echo);
    router.add(verb::get, "/subnet/{*}", echo);
    router.add(verb::post, "/fail/{}", [](const Request& request) -> Response {
        if (request.params[0] == "conflict") fail(ErrorCode::conflict, "name taken");
        if (request.params[0] == "unavailable") fail(ErrorCode::unavailable, "no kernel");
        throw std::runtime_error("errno soup: EINVAL at netlink.cpp:42");
    });
    return router;
}

struct RouteCase {
    const char* label;
    verb method;
    const char* target;
    const char* content_type;
    const char* body;
    status expected;
    std::vector<std::string> params; // checked when expected is 200

    friend void PrintTo(const RouteCase& c, std::ostream* out) { *out << c.label; }
};

class RouterTest : public ::testing::TestWithParam<RouteCase> {};

TEST_P(RouterTest, Dispatches) {
    const auto& c = GetParam();
    auto response = echo_router().dispatch(c.method, c.target, c.content_type, c.body);
    EXPECT_EQ(response.code, c.expected) << response.body.dump();
    if (c.expected == status::ok) {
        EXPECT_EQ(response.body["params"].get<std::vector<std::string>>(), c.params);
    } else {
        ASSERT_TRUE(response.body.contains("error")) << response.body.dump();
        EXPECT_FALSE(response.body["error"]["message"].get<std::string>().empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RouterTest,
    ::testing::Values(
        RouteCase{"list", verb::get, "/tun", "", "", status::ok, {}},
        RouteCase{"trailing_slash", verb::get, "/tun/", "", "", status::ok, {}},
        RouteCase{"query_ignored", verb::get, "/tun?x=1", "", "", status::ok, {}},
        RouteCase{"one_segment", verb::get, "/tun/tun0", "", "", status::ok, {"tun0"}},
        RouteCase{"percent_decoded", verb::get, "/tun/a%20b", "", "", status::ok, {"a b"}},
        RouteCase{"encoded_cidr", verb::get, "/subnet/10.1.0.0%2F24", "", "", status::ok, {"10.1.0.0/24"}},
        RouteCase{"encoded_cidr_lower", verb::get, "/subnet/10.1.0.0%2f24", "", "", status::ok, {"10.1.0.0/24"}},
        RouteCase{"unencoded_cidr", verb::get, "/subnet/10.1.0.0/24", "", "", status::ok, {"10.1.0.0/24"}},
        RouteCase{"rest_needs_a_segment", verb::get, "/subnet", "", "", status::not_found, {}},
        RouteCase{"unknown_path", verb::get, "/nope", "", "", status::not_found, {}},
        RouteCase{"too_deep", verb::get, "/tun/a/b", "", "", status::not_found, {}},
        RouteCase{"bad_percent", verb::get, "/tun/a%2", "", "", status::bad_request, {}},
        RouteCase{"bad_percent_hex", verb::get, "/tun/a%zz", "", "", status::bad_request, {}},
        RouteCase{"encoded_nul", verb::delete_, "/tun/a%00b", "", "", status::bad_request, {}},
        RouteCase{"wrong_method", verb::put, "/tun", "", "", status::method_not_allowed, {}},
        RouteCase{"post_json", verb::post, "/tun", "application/json", "{}", status::ok, {}},
        RouteCase{"post_json_charset", verb::post, "/tun", "Application/JSON; charset=utf-8", "{}", status::ok, {}},
        RouteCase{"post_without_type", verb::post, "/tun", "", "{}", status::unsupported_media_type, {}},
        RouteCase{"post_empty_without_type", verb::post, "/tun", "", "", status::unsupported_media_type, {}},
        RouteCase{"post_form", verb::post, "/tun", "application/x-www-form-urlencoded", "a=b",
                  status::unsupported_media_type, {}},
        // What `curl -d '{...}'` sends, as the spec's flow does.
        RouteCase{"post_curl_json", verb::post, "/tun", "application/x-www-form-urlencoded", "{\"name\":\"a\"}",
                  status::ok, {}},
        RouteCase{"post_form_array", verb::post, "/tun", "application/x-www-form-urlencoded", "[1]",
                  status::unsupported_media_type, {}},
        RouteCase{"post_json_lookalike", verb::post, "/tun", "application/jsonp", "{}",
                  status::unsupported_media_type, {}},
        RouteCase{"delete_without_body", verb::delete_, "/tun/tun0", "", "", status::ok, {"tun0"}},
        RouteCase{"delete_with_text_body", verb::delete_, "/tun/tun0", "text/plain", "x",
                  status::unsupported_media_type, {}},
        RouteCase{"typed_error", verb::post, "/fail/conflict", "application/json", "", status::conflict, {}},
        RouteCase{"unavailable", verb::post, "/fail/unavailable", "application/json", "",
                  status::service_unavailable, {}},
        RouteCase{"untyped_error", verb::post, "/fail/boom", "application/json", "",
                  status::internal_server_error, {}}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(Router, MethodNotAllowedListsAllowedMethods) {
    auto response = echo_router().dispatch(verb::patch, "/tun/tun0", "", "");
    EXPECT_EQ(response.code, status::method_not_allowed);
    EXPECT_EQ(response.allow, "GET, DELETE");
    EXPECT_EQ(response.body["error"]["code"], "method_not_allowed");
}

TEST(Router, InternalErrorsDoNotLeakDetails) {
    auto response = echo_router().dispatch(verb::post, "/fail/boom", "application/json", "");
    auto message = response.body["error"]["message"].get<std::string>();
    EXPECT_EQ(response.body["error"]["code"], "internal");
    EXPECT_EQ(message.find("errno"), std::string::npos) << message;
    EXPECT_EQ(message.find("netlink.cpp"), std::string::npos) << message;
}

TEST(Router, ErrorBodyShape) {
    auto response = echo_router().dispatch(verb::post, "/fail/conflict", "application/json", "");
    EXPECT_EQ(response.body, nlohmann::json::parse(R"({"error":{"code":"conflict","message":"name taken"}})"));
}

TEST(RenderedList, RendersAgainOnlyWhenTheListingChanges) {
    http::RenderedList<int> rendered;
    int renders = 0;
    auto to_json = [&](int item) {
        ++renders;
        return nlohmann::json{{"n", item}};
    };
    EXPECT_EQ(rendered.respond({1, 2}, to_json).text, R"([{"n":1},{"n":2}])");
    EXPECT_EQ(rendered.respond({1, 2}, to_json).text, R"([{"n":1},{"n":2}])");
    EXPECT_EQ(renders, 2) << "an unchanged listing was rendered again";
    auto changed = rendered.respond({1, 3}, to_json);
    EXPECT_EQ(changed.text, R"([{"n":1},{"n":3}])");
    EXPECT_EQ(changed.text_type, "application/json");
    EXPECT_EQ(rendered.respond({}, to_json).text, "[]");
}

} // namespace
} // namespace netd::http

namespace netd::http {
namespace {

TEST(Response, PayloadSurvivesBytesThatAreNotUtf8) {
    struct Case {
        Response response;
        std::string payload;
    };
    for (const auto& c : std::vector<Case>{
             {Response::json(status::not_found, {{"message", "no TUN named \xAE"}}),
              "{\"message\":\"no TUN named \xEF\xBF\xBD\"}\n"},
             {Response::json(status::ok, nlohmann::json::array()), "[]\n"},
             {Response::empty(status::no_content), ""},
             {Response::plain("# metrics\n", "text/plain"), "# metrics\n"},
         }) {
        EXPECT_EQ(c.response.payload(), c.payload);
    }
}

} // namespace
} // namespace netd::http
