#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include <spdlog/spdlog.h>

#include "netd/platform/platform.hpp"
#include "unique_fd.hpp"

namespace netd::platform {

// The sd_notify protocol is one datagram to $NOTIFY_SOCKET; speaking it
// directly keeps libsystemd out of the build and works where it is absent.
void notify_ready() {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@')) return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string_view name(path);
    if (name.size() >= sizeof address.sun_path) return;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0'; // an abstract socket
    UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return;
    constexpr std::string_view ready = "READY=1";
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (sendto(fd.get(), ready.data(), ready.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address), length) < 0) {
        spdlog::warn("could not tell the service manager we are ready: {}", std::strerror(errno));
    }
}

} // namespace netd::platform
