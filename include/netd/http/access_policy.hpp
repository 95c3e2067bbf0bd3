#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "netd/http/authorization.hpp"
#include "netd/http/router.hpp"

namespace netd::http {

// A request as it arrived, reduced to what the API looks at.
struct Incoming {
    verb method = verb::get;
    std::string_view target;
    std::string_view host;
    std::string_view origin;
    std::string_view sec_fetch_site;
    std::string_view authorization;
    std::string_view content_type;
    std::string_view body;
    // Arrived over the Unix socket, which no browser can reach: there is no
    // Host to check.
    bool local_socket = false;
    // How the request was framed, checked before anything else.
    std::size_t host_fields = 1;
    std::size_t transfer_encoding_fields = 0;
    std::string_view transfer_encoding{};
    // Who sent it, looked up once when the connection was accepted; empty
    // when the kernel could not tell.
    std::optional<Caller> caller{};
    // See Request::id.
    std::uint64_t id = 0;
};

// Who may use the API. These daemons run as root on localhost, where any web
// page the user opens can reach them, so:
// - Host must be one of ours exactly, which defeats DNS rebinding (a page on
//   evil.example resolving to 127.0.0.1 still sends Host: evil.example);
// - a request a browser marks as cross-site (Origin, Sec-Fetch-Site) is refused;
// - with a token set, every request but /healthz needs it as a Bearer token;
// - only an admin (root, a member of the admin group, or an unidentified
//   caller with the token) may change anything; everyone else may read (see
//   refusal()).
class AccessPolicy {
public:
    // `self_service`: the collection ("/tun", "/subnet") in which users who
    // are not admins may create and delete what is their own
    // (--self-service); empty when they may not.
    AccessPolicy(std::vector<std::string> allowed_hosts, std::string token = {}, AdminGroup admin_group = {},
                 std::string self_service = {});

    // The listen address, localhost:<port>, 127.0.0.1:<port> and [::1]:<port>.
    static std::vector<std::string> default_hosts(const boost::asio::ip::tcp::endpoint& listen);

    // Throws forbidden or unauthorized. Returns the caller's uid when only
    // self-service lets the request through (the handler limits it), else
    // nothing.
    std::optional<std::uint32_t> check(const Incoming& request) const;

    // Whose members are admins; the server reserves connections for them.
    const AdminGroup& admin_group() const { return admin_group_; }

private:
    std::vector<std::string> allowed_hosts_;
    std::string token_;
    AdminGroup admin_group_;
    std::string self_service_;
};

// The whole pipeline of a request: access check, route, handler, and every
// failure turned into its typed error response. Never throws.
// Throws invalid for a request that two parsers could read differently: a
// second Host, or a Transfer-Encoding other than exactly "chunked".
void check_framing(const Incoming& request);

Response handle_request(const AccessPolicy& policy, const Router& router, const Incoming& request);

} // namespace netd::http
