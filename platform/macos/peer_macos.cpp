#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "netd/platform.hpp"

namespace netd::platform {

std::string describe_unix_peer(int fd) {
    uid_t uid = 0;
    gid_t gid = 0;
    if (::getpeereid(fd, &uid, &gid) != 0) return "an unknown local peer";
    auto peer = "uid " + std::to_string(uid);
    pid_t pid = 0;
    socklen_t length = sizeof pid;
    if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &length) == 0) peer += " pid " + std::to_string(pid);
    return peer;
}

} // namespace netd::platform
