#pragma once

#include <string>

#include "unique_fd.hpp"

namespace netd::platform {

// An exclusive flock(2) on a file that several processes open, with the
// BasicLockable shape. The kernel drops it when the process dies, so a daemon
// killed while holding it never blocks the others.
class FileLock {
public:
    // Opens (creating it and its directory if need be) the lock file now, so
    // that a path the daemon cannot write is reported at start, and so that
    // it stays open once the daemon is no longer root. The file is its
    // owner's alone (0600, never through a symlink), in a directory of root
    // or the daemon's user that no one else may write; any other directory
    // or owner is refused, naming the fix, and nothing is changed.
    explicit FileLock(const std::string& path);

    // Takes the lock if it is free; else throws ErrorCode::busy at once,
    // never blocking the daemon's one I/O thread (the server tries the
    // request again shortly; a start waits in between).
    void lock();
    void unlock();

private:
    std::string path_;
    UniqueFd fd_;
};

} // namespace netd::platform
