#include "netd/platform/tunnel_io.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "netd/error.hpp"

namespace netd::platform {

// A utun's packets carry a 4-byte address family and no offloads.
bool tun_offloads_supported() { return false; }

void enable_tun_offloads(int) { fail(ErrorCode::unavailable, "a utun has no offloads"); }

std::size_t tun_packet_prefix() { return 4; }

void fill_tun_packet_prefix(std::uint8_t* at, std::uint8_t first_byte) {
    std::uint32_t family = (first_byte >> 4) == 6 ? AF_INET6 : AF_INET;
    at[0] = static_cast<std::uint8_t>(family >> 24);
    at[1] = static_cast<std::uint8_t>(family >> 16);
    at[2] = static_cast<std::uint8_t>(family >> 8);
    at[3] = static_cast<std::uint8_t>(family);
}

// macOS has no capabilities: a process's privilege is its uid, which
// netd-tunnel never has as root under its launchd plist (UserName).
void drop_all_privileges() {}

std::string effective_privileges() { return ::geteuid() == 0 ? "root" : "none"; }

} // namespace netd::platform
