#include "netd/platform/tunnel_io.hpp"

#include <unistd.h>

#include "netd/error.hpp"

namespace netd::platform {

// A utun's packets carry a 4-byte address family and no offloads.
bool tun_offloads_supported() { return false; }

void enable_tun_offloads(int) { fail(ErrorCode::unavailable, "a utun has no offloads"); }

// macOS has no capabilities: a process's privilege is its uid, which
// netd-tunnel never has as root under its launchd plist (UserName).
void drop_all_privileges() {}

std::string effective_privileges() { return ::geteuid() == 0 ? "root" : "none"; }

} // namespace netd::platform
