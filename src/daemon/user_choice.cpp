#include <string>

#include "netd/daemon/daemon.hpp"
#include "netd/error.hpp"

namespace netd::daemon {

UserChoice choose_user(const std::string& asked, std::uint32_t euid, bool can_switch, bool asked_exists) {
    if (asked == "root" || asked == "0") {
        fail(ErrorCode::invalid, "--user root: the daemon gives up root once it is set up; name an unprivileged "
                                 "user (default " + std::string(default_user) + ")");
    }
    if (euid != 0) {
        // Its service manager chose the user (the systemd unit's User=).
        return {"", "runs as uid " + std::to_string(euid) + ", as it was started", false};
    }
    if (!can_switch) {
        return {"",
                "cannot become the user " + asked +
                    " without CAP_SETUID, CAP_SETGID and CAP_CHOWN; stays root, with CAP_NET_ADMIN alone",
                true};
    }
    if (asked_exists) return {asked, "runs as the user " + asked + ", with CAP_NET_ADMIN alone", false};
    if (asked == default_user) {
        // Not nobody: whoever else runs as nobody could then signal the
        // daemon and rewrite its journal, which a restart as root restores.
        return {"",
                "there is no user " + asked + " (make install creates it; or useradd --system " + asked +
                    "): stays root, with CAP_NET_ADMIN alone",
                true};
    }
    fail(ErrorCode::invalid, "there is no user " + asked + " to run as (--user)");
}

} // namespace netd::daemon
