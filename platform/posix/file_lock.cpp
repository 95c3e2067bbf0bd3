#include "file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
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
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
    fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_) fail_lock("cannot open", path);
}

void FileLock::lock() {
    while (::flock(fd_.get(), LOCK_EX) < 0) {
        if (errno != EINTR) fail_lock("cannot take", path_);
    }
}

void FileLock::unlock() { ::flock(fd_.get(), LOCK_UN); }

} // namespace netd::platform
