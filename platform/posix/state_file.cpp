#include "state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "netd/error.hpp"
#include "unique_fd.hpp"

namespace netd::platform {
namespace {

[[noreturn]] void fail_state(const std::string& what, const std::string& path) {
    fail(ErrorCode::unavailable, "cannot " + what + " " + path + ": " + std::strerror(errno));
}

void fsync_path(const std::string& path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0) fail_state("sync", path);
}

} // namespace

StateFile::StateFile(const std::string& directory, const std::string& name)
    : directory_(directory), path_(directory + "/" + name) {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec) fail(ErrorCode::unavailable, "cannot create the state directory " + directory_ + ": " + ec.message());
    std::filesystem::permissions(directory_, std::filesystem::perms::owner_all, ec);
}

std::optional<std::string> StateFile::read() {
    std::ifstream in(path_);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void StateFile::write(const std::string& text) {
    auto temporary = path_ + ".tmp";
    {
        UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!fd) fail_state("write", temporary);
        for (std::size_t done = 0; done < text.size();) {
            auto written = ::write(fd.get(), text.data() + done, text.size() - done);
            if (written < 0 && errno == EINTR) continue;
            if (written < 0) fail_state("write", temporary);
            done += static_cast<std::size_t>(written);
        }
        if (::fsync(fd.get()) != 0) fail_state("sync", temporary);
    }
    if (::rename(temporary.c_str(), path_.c_str()) != 0) fail_state("replace", path_);
    fsync_path(directory_, O_RDONLY | O_DIRECTORY);
}

std::string StateFile::set_aside() {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    auto aside = path_ + ".corrupt-" + std::to_string(seconds);
    if (::rename(path_.c_str(), aside.c_str()) != 0) fail_state("move aside", path_);
    return aside;
}

} // namespace netd::platform
