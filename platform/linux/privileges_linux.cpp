#include <cap-ng.h>
#include <linux/capability.h>

#include <cstdlib>
#include <memory>

#include "netd/error.hpp"
#include "netd/platform/platform.hpp"

namespace netd::platform {

void require_privileges() {
    capng_get_caps_process();
    if (capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN)) return;
    fail(ErrorCode::unavailable,
         "missing the CAP_NET_ADMIN capability; run it as root (sudo) or through its systemd unit");
}

void drop_thread_privileges() {
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOTH) != 0) fail(ErrorCode::internal, "could not drop capabilities");
}

std::string drop_privileges() {
    // Everything is open and bound by now; all that is left to do is
    // network administration, so that is all the process may do from here.
    capng_clear(CAPNG_SELECT_BOTH);
    capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET),
                 CAP_NET_ADMIN);
    if (capng_apply(CAPNG_SELECT_BOTH) != 0) fail(ErrorCode::internal, "could not drop capabilities");
    capng_get_caps_process();
    std::unique_ptr<char, decltype(&std::free)> text(capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE),
                                                     &std::free);
    return text ? text.get() : "unknown";
}

} // namespace netd::platform
