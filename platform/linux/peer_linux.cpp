#include <sys/socket.h>

#include <string>

#include "netd/platform.hpp"

namespace netd::platform {

std::string describe_unix_peer(int fd) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return "an unknown local peer";
    return "uid " + std::to_string(credentials.uid) + " pid " + std::to_string(credentials.pid);
}

} // namespace netd::platform
