#include <cap-ng.h>
#include <linux/capability.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
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

bool can_become_another_user() {
    capng_get_caps_process();
    return capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) && capng_have_capability(CAPNG_EFFECTIVE, CAP_SETGID) &&
           capng_have_capability(CAPNG_EFFECTIVE, CAP_CHOWN);
}

namespace {

// Set once drop_privileges() is done: a thread that kept CAP_SETUID and
// CAP_SETGID for the change of user gives them up at its next call.
std::atomic<bool> settled{false};

[[noreturn]] void fail_switch(const std::string& what) {
    fail(ErrorCode::internal, "could not " + what + ": " + std::strerror(errno));
}

} // namespace

bool privileges_settled() { return settled; }

void drop_thread_privileges() {
    // glibc makes every thread repeat a change of the process's user, and
    // aborts if one of them fails: until drop_privileges() has changed it
    // (which clears them) or decided not to, a thread keeps CAP_SETUID and
    // CAP_SETGID where it has them. Everything else goes at once.
    thread_local bool dropped = false;
    if (dropped) return;
    capng_get_caps_process();
    bool keep = !settled && (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) ||
                             capng_have_capability(CAPNG_EFFECTIVE, CAP_SETGID));
    capng_clear(CAPNG_SELECT_BOTH);
    if (keep) {
        auto kept = static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED);
        capng_update(CAPNG_ADD, kept, CAP_SETUID);
        capng_update(CAPNG_ADD, kept, CAP_SETGID);
    }
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) fail(ErrorCode::internal, "could not drop capabilities");
    dropped = !keep;
}

std::string drop_privileges(const std::optional<Account>& account) {
    // Everything is open and bound by now; all that is left to do is
    // network administration, so that is all the process may do from here.
    capng_clear(CAPNG_SELECT_BOTH);
    capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET),
                 CAP_NET_ADMIN);
    // The bounding set first, while CAP_SETPCAP is still there to shrink it.
    if (capng_apply(CAPNG_SELECT_BOUNDS) != 0) fail(ErrorCode::internal, "could not drop capabilities");
    if (account) {
        // PR_SET_KEEPCAPS carries the permitted set across the change of
        // uid (the other threads, without it, lose all of theirs); root's
        // supplementary groups go too.
        if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail_switch("keep capabilities");
        if (::setgroups(0, nullptr) != 0) fail_switch("drop the supplementary groups");
        if (::setresgid(account->gid, account->gid, account->gid) != 0) {
            fail_switch("become the group " + std::to_string(account->gid));
        }
        if (::setresuid(account->uid, account->uid, account->uid) != 0) fail_switch("become the user " + account->name);
        if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) fail_switch("stop keeping capabilities");
    }
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) fail(ErrorCode::internal, "could not drop capabilities");
    settled = true;
    // Nothing it runs could ever gain privileges again (it runs nothing).
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_switch("set no_new_privs");
    capng_get_caps_process();
    std::unique_ptr<char, decltype(&std::free)> text(capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE),
                                                     &std::free);
    return text ? text.get() : "unknown";
}

} // namespace netd::platform
