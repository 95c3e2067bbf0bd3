#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

namespace netd::http {

using boost::beast::http::status;
using boost::beast::http::verb;

// What a handler sees: nothing of sockets or Beast, so that handlers are
// plain functions from request to response and tests can call them directly.
struct Request {
    verb method = verb::get;
    std::string_view path;
    std::vector<std::string> params; // the pattern's captures, percent-decoded
    std::string_view content_type;
    std::string_view body;
    // Set to the caller's uid when a user who is not an admin reached the
    // handler through --self-service: the handler must keep them to what
    // they own. Empty for an admin.
    std::optional<std::uint32_t> limited_to{};
    // The same across the busy re-runs of one request, and unique among the
    // server's requests: what a re-run finds its earlier run's work by (a
    // claim it asked etcd for). 0 when the caller gave none.
    std::uint64_t id = 0;
};

struct Response {
    status code = status::ok;
    nlohmann::json body;      // null for no body (204)
    std::string allow;        // the Allow header of a 405
    std::string text;         // a body that is not JSON (metrics), sent as is
    std::string text_type;    // its Content-Type
    std::string route = "-";  // the pattern that matched, for metrics and logs
    // ErrorCode::busy: nothing was changed, and the server handles the
    // request again a moment later (Server::busy_patience), not blocking.
    bool busy = false;

    static Response json(status code, nlohmann::json body) {
        Response response;
        response.code = code;
        response.body = std::move(body);
        return response;
    }
    static Response empty(status code) { return json(code, nullptr); }
    static Response plain(std::string text, std::string type) {
        auto response = empty(status::ok);
        response.text = std::move(text);
        response.text_type = std::move(type);
        return response;
    }

    // The body as sent: the text, or the JSON and a newline ("" for none).
    // A message may quote what the client sent, which need not be UTF-8
    // (GET /tun/%AE): such bytes are written as U+FFFD, never thrown over.
    std::string payload() const;
};

using Handler = std::function<Response(const Request&)>;

// Matches (method, path) against a table, in the manner of Firecracker's API
// server, and turns every failure into a typed error response in one place.
//
// Patterns are literal segments plus captures: "{}" takes one segment and
// "{*}" the rest of the path, slashes included, so that an unencoded CIDR
// such as /subnet/10.1.0.0/24 reaches the handler whole.
class Router {
public:
    void add(verb method, std::string pattern, Handler handler);

    // Never throws: unknown paths are 404, wrong methods 405 with Allow,
    // netd::Error its mapped status, anything else 500.
    Response dispatch(verb method, std::string_view target, std::string_view content_type, std::string_view body,
                      std::optional<std::uint32_t> limited_to = {}, std::uint64_t id = 0) const;

    struct Route {
        verb method;
        std::string pattern;
        Handler handler;
    };
    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
};

} // namespace netd::http
