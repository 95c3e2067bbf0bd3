#include "state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/platform/platform.hpp"
#include "unique_fd.hpp"

namespace netd::platform {
namespace {

[[noreturn]] void fail_state(const std::string& what, const std::string& path) {
    fail(ErrorCode::unavailable, "cannot " + what + " " + path + ": " + std::strerror(errno));
}

UniqueFd open_directory(const std::string& directory) {
    UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) fail_state("open the state directory", directory);
    return fd;
}

bool exists_at(int directory, const std::string& name) {
    struct stat status {};
    return ::fstatat(directory, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0;
}

// Writes `name` in the open `directory` atomically and durably; `shown` is
// its path, for messages.
void write_durably_at(int directory, const std::string& name, const std::string& shown, const std::string& text) {
    auto temporary = name + ".tmp";
    {
        UniqueFd fd(::openat(directory, temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                             0600));
        if (!fd) fail_state("write", shown + ".tmp");
        for (std::size_t done = 0; done < text.size();) {
            auto written = ::write(fd.get(), text.data() + done, text.size() - done);
            if (written < 0 && errno == EINTR) continue;
            if (written < 0) fail_state("write", shown + ".tmp");
            done += static_cast<std::size_t>(written);
        }
        if (::fsync(fd.get()) != 0) fail_state("sync", shown + ".tmp");
    }
    if (::renameat(directory, temporary.c_str(), directory, name.c_str()) != 0) fail_state("replace", shown);
    if (::fsync(directory) != 0) fail_state("sync the directory of", shown);
}

// A sync in flight slows the requests that run beside it (creates took 1.5
// times as long on the VMs measured), so a burst of changes is synced every
// 10 ms rather than after each one. A lone change is still synced at once.
constexpr auto min_sync_interval = std::chrono::milliseconds(10);

} // namespace

StateFile::StateFile(const std::string& directory, const std::string& name, const std::string& legacy_name)
    : directory_(directory), name_(name), path_(directory + "/" + name) {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec) fail(ErrorCode::unavailable, "cannot create the state directory " + directory_ + ": " + ec.message());
    std::filesystem::permissions(directory_, std::filesystem::perms::owner_all, ec);
    // Everything after this is relative to the open directory: once the
    // daemon is no longer root, the path to it may pass through directories
    // it cannot search (a checkout in /root, for make run).
    dir_ = open_directory(directory_);
    if (!exists_at(dir_.get(), name_) && exists_at(dir_.get(), legacy_name) &&
        ::renameat(dir_.get(), legacy_name.c_str(), dir_.get(), name_.c_str()) != 0) {
        fail_state("take over", directory_ + "/" + legacy_name);
    }
    syncer_ = std::thread([this] { sync_appends(); });
}

StateFile::~StateFile() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    syncer_.join();
}

void StateFile::sync_appends() {
    // All it does is fsync, on a file already open.
    try {
        drop_thread_privileges();
    } catch (const std::exception& error) {
        spdlog::error("the thread that syncs {} keeps its capabilities: {}", path_, error.what());
    }
    std::unique_lock lock(mutex_);
    std::chrono::steady_clock::time_point last_sync;
    bool dropped = false;
    for (;;) {
        // What it kept for the daemon's change of user (see
        // drop_thread_privileges), it gives up as soon as the daemon has
        // settled who it is: a look every 20 ms until then.
        while (!privileges_settled() && !dirty_ && !stopping_) wake_.wait_for(lock, std::chrono::milliseconds(20));
        if (!dropped) {
            try {
                drop_thread_privileges();
                dropped = privileges_settled();
            } catch (const std::exception& error) {
                spdlog::error("the thread that syncs {} keeps its capabilities: {}", path_, error.what());
                dropped = true;
            }
        }
        wake_.wait(lock, [this] { return dirty_ || stopping_; });
        wake_.wait_until(lock, last_sync + min_sync_interval, [this] { return stopping_; });
        if (!dirty_) return;
        dirty_ = false;
        last_sync = std::chrono::steady_clock::now();
        // Taken under the lock that replace() and set_aside() swap it under,
        // and kept open by this copy even if they move on meanwhile. None
        // means they did (replace() wrote its file durably itself).
        auto journal = journal_;
        if (!journal) continue;
        lock.unlock();
        // fsync, not fdatasync: an append changes the size, which both must
        // write, and macOS declares no fdatasync.
        if (::fsync(journal->get()) != 0) {
            spdlog::error("cannot sync {}: {}; the last changes may not survive a power loss", path_,
                          std::strerror(errno));
        }
        lock.lock();
    }
}

void StateFile::append(const std::string& line) {
    std::unique_lock lock(mutex_);
    if (!journal_) {
        journal_ = std::make_shared<UniqueFd>(
            ::openat(dir_.get(), name_.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
        if (!*journal_) {
            journal_.reset();
            fail_state("open", path_);
        }
        end_ = ::lseek(journal_->get(), 0, SEEK_END);
        if (end_ < 0) {
            journal_.reset();
            fail_state("open", path_);
        }
    }
    // One write() of the whole line: O_APPEND keeps it in one piece.
    auto written = ::write(journal_->get(), line.data(), line.size());
    if (written != static_cast<ssize_t>(line.size())) {
        // A full disk stops a write mid-line and reports no error: the
        // shortfall is ENOSPC. The piece written is cut off again, so that
        // the next line does not end up glued to it.
        int error = written < 0 ? errno : ENOSPC;
        if (written > 0) {
            if (::ftruncate(journal_->get(), end_) != 0) {
                spdlog::error("cannot cut the partial line off {}: {}", path_, std::strerror(errno));
            }
        }
        errno = error;
        fail_state("append to", path_);
    }
    end_ += static_cast<off_t>(written);
    dirty_ = true;
    lock.unlock();
    wake_.notify_one();
}

std::optional<std::string> StateFile::read() {
    UniqueFd fd(::openat(dir_.get(), name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        fail_state("read", path_);
    }
    std::string text;
    char buffer[64 * 1024];
    for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_state("read", path_);
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

void write_durably(const std::string& directory, const std::string& path, const std::string& text) {
    auto directory_fd = open_directory(directory);
    write_durably_at(directory_fd.get(), std::filesystem::path(path).filename().string(), path, text);
}

void StateFile::replace(const std::string& text) {
    write_durably_at(dir_.get(), name_, path_, text);
    std::lock_guard lock(mutex_);
    journal_.reset(); // it names the replaced file; the next append opens the new one
    dirty_ = false;   // write_durably synced everything the file now holds
}

std::string StateFile::set_aside() {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    auto aside = name_ + ".corrupt-" + std::to_string(seconds);
    // Two in one second must not overwrite the first: each is kept for a human.
    for (int n = 1; exists_at(dir_.get(), aside); ++n) {
        aside = name_ + ".corrupt-" + std::to_string(seconds) + "-" + std::to_string(n);
    }
    if (::renameat(dir_.get(), name_.c_str(), dir_.get(), aside.c_str()) != 0) fail_state("move aside", path_);
    std::lock_guard lock(mutex_);
    journal_.reset();
    dirty_ = false; // nothing left to sync: the file is no longer the journal
    return directory_ + "/" + aside;
}

} // namespace netd::platform
