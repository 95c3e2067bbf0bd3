#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "netd/platform/platform.hpp"

namespace netd::platform {

std::optional<Peer> unix_peer(int fd) {
    uid_t uid = 0;
    gid_t gid = 0;
    if (::getpeereid(fd, &uid, &gid) != 0) return std::nullopt;
    Peer peer{static_cast<std::uint32_t>(uid), std::nullopt};
    pid_t pid = 0;
    socklen_t length = sizeof pid;
    if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &length) == 0) peer.pid = pid;
    return peer;
}

// macOS has no NETLINK_SOCK_DIAG, and its pcblist sysctl gives no owner
// without a walk of every socket on the host: a TCP caller stays
// unidentified (read-only, unless it sends the token).
std::optional<Peer> tcp_peer(int) { return std::nullopt; }

} // namespace netd::platform
