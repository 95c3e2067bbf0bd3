#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "netd/error.hpp"
#include "netd/platform/platform.hpp"
#include "unique_fd.hpp"

namespace netd::platform {

std::optional<Account> find_account(const std::string& name) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (name.empty() || name.find('\0') != std::string::npos ||
        getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
        return std::nullopt;
    }
    return Account{entry.pw_name, static_cast<std::uint32_t>(entry.pw_uid), static_cast<std::uint32_t>(entry.pw_gid)};
}

bool may_open(const Account& account, const std::string& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) return true; // missing: the open says so, whoever tries
    mode_t needed = 0;
    if (status.st_uid == account.uid) {
        needed = S_IRUSR | S_IWUSR;
    } else if (status.st_gid == account.gid) {
        needed = S_IRGRP | S_IWGRP;
    } else {
        needed = S_IROTH | S_IWOTH;
    }
    return (status.st_mode & needed) == needed;
}

namespace {

[[noreturn]] void fail_hand_over(const std::string& path, const Account& account) {
    fail(ErrorCode::unavailable,
         "cannot give " + path + " to the user " + account.name + " (--user): " + std::strerror(errno));
}

// By descriptor, so that what is checked is what is changed: a symlink put
// in the path's place is never followed (O_NOFOLLOW), and a FIFO never
// blocks the open (O_NONBLOCK).
void give(int directory, const char* name, const std::string& path, const Account& account) {
    UniqueFd fd(::openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        if (errno == ELOOP) return; // a symlink: not the daemon's to give
        fail_hand_over(path, account);
    }
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) fail_hand_over(path, account);
    if (!S_ISREG(status.st_mode) && !S_ISDIR(status.st_mode)) return;
    if (status.st_uid == account.uid) return;
    if (::fchown(fd.get(), account.uid, static_cast<gid_t>(-1)) != 0) fail_hand_over(path, account);
}

} // namespace

void hand_over(const std::string& path, const Account& account) {
    give(AT_FDCWD, path.c_str(), path, account);
    std::error_code ec;
    if (!std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) return;
    UniqueFd directory(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!directory) fail_hand_over(path, account);
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        auto name = entry.path().filename().string();
        give(directory.get(), name.c_str(), entry.path().string(), account);
    }
    if (ec) fail(ErrorCode::unavailable, "cannot list " + path + ": " + ec.message());
}

} // namespace netd::platform
