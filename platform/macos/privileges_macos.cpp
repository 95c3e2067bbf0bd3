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
std::string drop_privileges(const std::optional<Account>&) { return "all of root's (macOS has no capability sets)"; }

// Configuring interfaces on macOS takes root itself, so the daemon stays
// root there.
bool can_become_another_user() { return false; }

void drop_thread_privileges() {}

bool privileges_settled() { return true; }

// launchd has no readiness protocol: it considers a daemon up once started.
void notify_ready() {}

} // namespace netd::platform
