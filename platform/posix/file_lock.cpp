#include "file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

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
    // must be root's or the daemon's own, and closed to others' writes. It
    // is never changed here: a shared directory (/tmp) is refused, not
    // taken from its other users.
    UniqueFd parent(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat status {};
    if (!parent || ::fstat(parent.get(), &status) != 0) fail_lock("cannot open the directory of", path);
    if (status.st_uid != 0 && status.st_uid != ::geteuid()) {
        fail(ErrorCode::unavailable, "the directory of the lock file " + path + " belongs to uid " +
                                         std::to_string(status.st_uid) +
                                         ", who could swap the lock: give it to root (or the daemon's user)");
    }
    if ((status.st_mode & 022) != 0) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", status.st_mode & 07777);
        fail(ErrorCode::unavailable, "the directory of the lock file " + path + " is writable by others (mode " +
                                         octal + "), who could swap the lock: use a directory only root may write, "
                                                 "such as /run/netd");
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
    // Never waits: the caller is the daemon's one I/O thread. The holder
    // keeps it for the few system calls of one create, so the server tries
    // the request again a moment later (ErrorCode::busy), for 2 s at most,
    // serving everyone else meanwhile; longer, and it answers 503.
    while (::flock(fd_.get(), LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) fail_lock("cannot take", path_);
        fail(ErrorCode::busy, "another process holds the allocation lock " + path_ +
                                  " and kept it the whole time this request waited; try again");
    }
}

void FileLock::unlock() { ::flock(fd_.get(), LOCK_UN); }

} // namespace netd::platform
