#include <unistd.h>

#include "netd/error.hpp"
#include "netd/platform/platform.hpp"

namespace netd::platform {

void require_privileges() {
    if (::geteuid() == 0) return;
    fail(ErrorCode::unavailable,
         "configuring interfaces on macOS needs root; run it with sudo or through its launchd plist");
}

// macOS has no capability sets to narrow root down to network
// administration; what the daemon may reach is the plist's business.
std::string drop_privileges() { return "all of root's (macOS has no capability sets)"; }

void drop_thread_privileges() {}

// launchd has no readiness protocol: it considers a daemon up once started.
void notify_ready() {}

} // namespace netd::platform
