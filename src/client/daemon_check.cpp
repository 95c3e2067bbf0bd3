#include "netd/client/daemon_check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "netd/http/client.hpp"
#include "netd/platform/platform.hpp"

namespace netd::client {
namespace {

using http::Untrusted;

// Whether the connected socket `fd` talks to this host's loopback, where
// the kernel can always say who serves it.
bool to_loopback(int fd) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return false;
    if (peer.ss_family == AF_INET) {
        return (ntohl(reinterpret_cast<const sockaddr_in&>(peer).sin_addr.s_addr) >> 24) == 127;
    }
    if (peer.ss_family == AF_INET6) {
        const auto& address = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(&address) || (IN6_IS_ADDR_V4MAPPED(&address) && address.s6_addr[12] == 127);
    }
    return false;
}

} // namespace

// Whoever serves a daemon's address must be root or the user the daemons
// become (netd): a user who bound the port while the daemon was restarting
// would otherwise receive the token and forge the answers. The kernel says
// who owns the other end (SO_PEERCRED; NETLINK_SOCK_DIAG for TCP, where the
// connection's socket is the one the daemon accepted, as its user). On
// loopback it always can, so silence there is refused too (a squatter's
// socket the lookup misses); elsewhere (another host or namespace) there is
// nobody to ask.
void check_daemon(int fd, bool local) {
    auto server = local ? platform::unix_peer(fd) : platform::tcp_peer(fd);
    if (!server) {
        if (local || !to_loopback(fd)) return;
        throw Untrusted("the kernel cannot tell who serves it on this host; nothing was sent");
    }
    if (server->uid == 0) return;
    auto user = platform::find_account(platform::daemon_user);
    if (user && server->uid == user->uid) return;
    throw Untrusted("it is served by uid " + std::to_string(server->uid) + ", not by root or the user " +
                    std::string(platform::daemon_user) +
                    ": someone else holds the daemon's address; nothing was sent");
}

} // namespace netd::client
