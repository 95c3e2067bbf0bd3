#include "netd/http/access_policy.hpp"

#include <algorithm>

#include "netd/error.hpp"
#include "netd/http/error_response.hpp"

namespace netd::http {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Compares in time that depends only on the lengths, so that a wrong token
// reveals nothing of the right one.
bool constant_time_equal(std::string_view given, std::string_view expected) {
    if (expected.empty()) return given.empty();
    unsigned char difference = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size(); ++i) {
        difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
    }
    return difference == 0;
}

} // namespace

AccessPolicy::AccessPolicy(std::vector<std::string> allowed_hosts, std::string token, AdminGroup admin_group,
                           std::string self_service)
    : allowed_hosts_(std::move(allowed_hosts)), token_(std::move(token)), admin_group_(std::move(admin_group)),
      self_service_(std::move(self_service)) {}

std::vector<std::string> AccessPolicy::default_hosts(const boost::asio::ip::tcp::endpoint& listen) {
    auto port = std::to_string(listen.port());
    auto address = listen.address().to_string();
    if (listen.address().is_v6()) address = "[" + address + "]";
    return {address + ":" + port, "localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port};
}

std::optional<std::uint32_t> AccessPolicy::check(const Incoming& request) const {
    bool known_host = std::any_of(allowed_hosts_.begin(), allowed_hosts_.end(),
                                  [&](const std::string& host) { return equal_ignoring_case(host, request.host); });
    if (!known_host && !request.local_socket) {
        fail(ErrorCode::forbidden, "Host \"" + std::string(request.host.substr(0, 64)) +
                                       "\" is not served here (use --allow-host to add it)");
    }
    if (!request.origin.empty() || equal_ignoring_case(request.sec_fetch_site, "cross-site")) {
        fail(ErrorCode::forbidden, "requests from web pages are refused");
    }
    auto path = request.target.substr(0, request.target.find('?'));
    bool token_valid = false;
    if (!token_.empty() && path != "/healthz") {
        constexpr std::string_view scheme = "Bearer ";
        bool bearer = request.authorization.size() > scheme.size() &&
                      equal_ignoring_case(request.authorization.substr(0, scheme.size()), scheme);
        if (!bearer || !constant_time_equal(request.authorization.substr(scheme.size()), token_)) {
            fail(ErrorCode::unauthorized, "a valid \"Authorization: Bearer <token>\" header is required");
        }
        token_valid = true;
    }
    if (auto refused = refusal(request.caller, token_valid, request.method, path, admin_group_)) {
        // Only a caller the kernel identified can own anything.
        if (request.caller && self_service_route(request.method, path, self_service_)) return request.caller->uid;
        fail(ErrorCode::forbidden, *refused);
    }
    return std::nullopt;
}

// What two parsers could read differently is refused outright: a second
// Host (which one did the policy check?), or a transfer coding this server
// does not decode (its body would be taken as given).
void check_framing(const Incoming& request) {
    if (request.host_fields > 1) fail(ErrorCode::invalid, "the request has more than one Host header");
    if (request.transfer_encoding_fields > 1 ||
        (request.transfer_encoding_fields == 1 && !equal_ignoring_case(request.transfer_encoding, "chunked"))) {
        fail(ErrorCode::invalid, "Transfer-Encoding must be exactly \"chunked\" (given once), not \"" +
                                     std::string(request.transfer_encoding.substr(0, 64)) + "\"");
    }
}

Response handle_request(const AccessPolicy& policy, const Router& router, const Incoming& request) {
    std::optional<std::uint32_t> limited_to;
    try {
        check_framing(request);
        limited_to = policy.check(request);
    } catch (const Error& error) {
        return error_response(error);
    }
    return router.dispatch(request.method, request.target, request.content_type, request.body, limited_to, request.id);
}

} // namespace netd::http
