#include "file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "netd/error.hpp"

namespace netd::platform {
namespace {

[[noreturn]] void fail_lock(const std::string& what, const std::string& path) {
    fail(ErrorCode::unavailable, what + " the lock file " + path + ": " + std::strerror(errno));
}

} // namespace

FileLock::FileLock(const std::string& path) : path_(path) {
    auto directory = std::filesystem::path(path).parent_path().string();
    if (directory.empty()) directory.assign(1, '.');
    std::error_code ignored;
    std::filesystem::create_directories(directory, ignored); // 0700: the daemon sets umask 077
    // Whoever may write the directory can swap the file for another, after
    // which two daemons lock two files and allocate the same block; so it
    // must be root's or the daemon's own, and closed to others' writes.
    // Readable by the group at most (0750), for a Unix socket beside it.
    UniqueFd parent(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat status {};
    if (!parent || ::fstat(parent.get(), &status) != 0) fail_lock("cannot open the directory of", path);
    if (status.st_uid != 0 && status.st_uid != ::geteuid()) {
        fail(ErrorCode::unavailable, "the directory of the lock file " + path + " belongs to uid " +
                                         std::to_string(status.st_uid) +
                                         ", who could swap the lock: give it to root (or the daemon's user)");
    }
    if ((status.st_mode & 027) != 0) {
        if (status.st_uid != ::geteuid() || ::fchmod(parent.get(), status.st_mode & 0750) != 0) {
            char octal[8];
            std::snprintf(octal, sizeof octal, "%04o", status.st_mode & 07777);
            fail(ErrorCode::unavailable, "the directory of the lock file " + path + " is open to others (mode " +
                                             octal + "): chmod 700 " + directory);
        }
    }
    // Readable by its owner alone: whoever can open a lock file can flock it
    // and so stall every allocation on the host. O_NOFOLLOW: a symlink must
    // not lead the daemon elsewhere.
    fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd_) fail_lock("cannot open", path);
    if (::fstat(fd_.get(), &status) == 0 && status.st_uid != 0 && status.st_uid != ::geteuid()) {
        fail(ErrorCode::unavailable, "the lock file " + path + " belongs to uid " + std::to_string(status.st_uid) +
                                         ", who could hold it: delete it");
    }
    if (status.st_uid == ::geteuid() && (status.st_mode & 077) != 0) {
        ::fchmod(fd_.get(), 0600); // made by an earlier version, open to all
    }
}

void FileLock::lock() {
    // The holder keeps it for the few system calls of one create, so a wait
    // longer than this means someone else holds it on purpose or is stuck:
    // the request answers 503 rather than stall the daemon's only thread.
    constexpr auto deadline = std::chrono::seconds(2);
    auto give_up = std::chrono::steady_clock::now() + deadline;
    auto pause = std::chrono::microseconds(100);
    while (::flock(fd_.get(), LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) fail_lock("cannot take", path_);
        if (std::chrono::steady_clock::now() > give_up) {
            fail(ErrorCode::unavailable, "another process has held the allocation lock " + path_ + " for over " +
                                             std::to_string(deadline.count()) + " s; try again");
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(50'000));
    }
}

void FileLock::unlock() { ::flock(fd_.get(), LOCK_UN); }

} // namespace netd::platform
