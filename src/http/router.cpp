#include "netd/http/router.hpp"

#include <optional>

#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/http/error_response.hpp"

namespace netd::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> segments;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        auto end = path.find('/');
        segments.push_back(path.substr(0, end));
        path.remove_prefix(end == std::string_view::npos ? path.size() : end);
    }
    return segments;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
        int low = high >= 0 ? hex_value(text[i + 2]) : -1;
        if (low < 0) fail(ErrorCode::invalid, "malformed percent-encoding in the path");
        // No name or CIDR holds a NUL, and C strings below would end there:
        // DELETE /tun/a%00b must not come to mean "a".
        if (high == 0 && low == 0) fail(ErrorCode::invalid, "the path holds an encoded NUL (%00)");
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

std::string join(const std::vector<std::string_view>& segments, std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < segments.size(); ++i) {
        if (i > from) out += '/';
        out += segments[i];
    }
    return out;
}

// The captures of `pattern` in `path`, or nullopt when it does not match.
std::optional<std::vector<std::string>> match(std::string_view pattern,
                                              const std::vector<std::string_view>& path) {
    auto wanted = split_path(pattern);
    std::vector<std::string> params;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (wanted[i] == "{*}") {
            if (i >= path.size()) return std::nullopt;
            params.push_back(percent_decode(join(path, i)));
            return params;
        }
        if (i >= path.size()) return std::nullopt;
        if (wanted[i] == "{}") {
            params.push_back(percent_decode(path[i]));
        } else if (wanted[i] != path[i]) {
            return std::nullopt;
        }
    }
    if (wanted.size() != path.size()) return std::nullopt;
    return params;
}

// Whether `content_type` names the media type `wanted` (lower case),
// whatever its parameters and the case it is written in.
bool media_type_is(std::string_view content_type, std::string_view wanted) {
    auto media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    if (media.size() != wanted.size()) return false;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(media[i])) != wanted[i]) return false;
    }
    return true;
}

bool is_json(std::string_view content_type) { return media_type_is(content_type, "application/json"); }

// `curl -d '{...}'`, the spec's own flow, labels its JSON as a form
// (application/x-www-form-urlencoded): a body of that type that is a JSON
// object is taken as what it is. A browser's cross-site form post carries
// an Origin (or Sec-Fetch-Site), which the access policy refuses first, and
// a real form ("a=b") still gets 415.
bool is_curl_json(std::string_view content_type, std::string_view body) {
    if (!media_type_is(content_type, "application/x-www-form-urlencoded")) return false;
    auto start = body.find_first_not_of(" \t\r\n");
    return start != std::string_view::npos && body[start] == '{';
}

// A body is only ever read as JSON, and a browser's "simple" cross-site
// request cannot send application/json, so insisting on it closes that door.
void require_json(verb method, std::string_view content_type, std::string_view body) {
    bool mutating = method == verb::post || method == verb::put || method == verb::patch ||
                    method == verb::delete_;
    bool exempt = method == verb::delete_ && body.empty();
    if (mutating && !exempt && !is_json(content_type) && !is_curl_json(content_type, body)) {
        fail(ErrorCode::unsupported_media, "the request body must be sent as Content-Type: application/json");
    }
}

// Runs `produce`, turning whatever it throws into its error response.
template <typename Produce>
Response guarded(Produce produce) {
    try {
        return produce();
    } catch (const Error& error) {
        return error_response(error);
    } catch (const std::exception& error) {
        return error_response(Error(ErrorCode::internal, error.what()));
    }
}

} // namespace

void Router::add(verb method, std::string pattern, Handler handler) {
    routes_.push_back({method, std::move(pattern), std::move(handler)});
}

Response Router::dispatch(verb method, std::string_view target, std::string_view content_type,
                          std::string_view body, std::optional<std::uint32_t> limited_to, std::uint64_t id) const {
    return guarded([&] {
        auto path = target.substr(0, target.find('?'));
        auto segments = split_path(path);
        std::string allow;
        for (const auto& route : routes_) {
            auto params = match(route.pattern, segments);
            if (!params) continue;
            if (route.method != method) {
                if (!allow.empty()) allow += ", ";
                allow += std::string(to_string(route.method));
                continue;
            }
            auto response = guarded([&] {
                require_json(method, content_type, body);
                return route.handler(Request{method, path, std::move(*params), content_type, body, limited_to, id});
            });
            response.route = route.pattern;
            return response;
        }
        if (allow.empty()) fail(ErrorCode::not_found, "no such endpoint: " + std::string(path));
        auto response = error_response(Error(ErrorCode::method_not_allowed, std::string(to_string(method)) +
                                                                                " is not allowed on " +
                                                                                std::string(path) + "; allowed: " + allow));
        response.allow = allow;
        return response;
    });
}

std::string Response::payload() const {
    if (!text.empty()) return text;
    if (body.is_null()) return "";
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace netd::http
