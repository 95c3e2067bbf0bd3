#pragma once

namespace netd::netctl {

// Exit codes, distinct so that scripts can tell the outcomes apart.
enum Exit : int {
    ok = 0,
    failed = 1,      // any other error the daemon answered
    invalid = 2,     // bad arguments, or the daemon answered 400
    not_found = 3,   // 404
    conflict = 4,    // 409
    unreachable = 5, // nothing answered at the daemon's address
};

// netctl's whole command line; returns the exit code.
int run(int argc, char** argv);

} // namespace netd::netctl
