#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ostream> // Boost 1.74's string_view, under verb.hpp, needs it first

#include <boost/beast/http/verb.hpp>

namespace netd::http {

using boost::beast::http::verb;

// Who is calling, as the kernel told it when the connection was accepted
// (SO_PEERCRED on a Unix socket, NETLINK_SOCK_DIAG for a TCP peer on this
// host). A header or a token says nothing about which local user calls, so
// nothing in a request can change this.
struct Caller {
    std::uint32_t uid = 0;
    // The user's primary and supplementary groups from the user database
    // (getgrouplist), not the calling process's: a setgid program must not
    // make its user an admin. Empty for root, who needs none.
    std::vector<std::uint32_t> groups{};
    std::optional<std::int64_t> pid{}; // known on a Unix socket only
};

// "uid 1000 pid 42", "uid 1000", or "an unidentified caller".
std::string describe(const std::optional<Caller>& caller);

// The group whose members may change what the daemon manages
// (--admin-group); `gid` is empty when no such group exists on the host, and
// then only root is an admin.
struct AdminGroup {
    std::string name = "netd";
    std::optional<std::uint32_t> gid{};
};

bool is_admin(const Caller& caller, const AdminGroup& group);

// Requests that change nothing, which anyone who reached the daemon may send.
bool read_only(verb method);

// Whether `caller` may send `method` to `path`: nullopt when allowed, else
// the 403 message, which says how to get access. Anyone may read; an admin
// may do everything; an unidentified caller (another network namespace, a
// remote host) counts as an admin only with a valid bearer token
// (`bearer_token`), since the token is then all that vouches for it.
// Identified users who are not admins may only read, token or not: the
// kernel has told who they are.
std::optional<std::string> refusal(const std::optional<Caller>& caller, bool bearer_token, verb method,
                                   std::string_view path, const AdminGroup& group);

// With --self-service, what a user who is not an admin may still send to
// `collection` ("/tun" or "/subnet", the daemon's own): a POST to it, and a
// DELETE of one of its members, /tun/{name} or /subnet/{cidr} (the CIDR
// percent-encoded or not). The handler then limits them to what they own
// (see tun/self_service.hpp and subnet/self_service.hpp). `path` is as sent;
// any other spelling of it (//tun, /subnet/10.1.0.0//24) is refused, never
// let through.
bool self_service_route(verb method, std::string_view path, std::string_view collection);

} // namespace netd::http
