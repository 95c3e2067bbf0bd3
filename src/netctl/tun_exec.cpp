#include "tun_exec.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli.hpp"
#include "netd/client/tun_fd.hpp"
#include "unique_fd.hpp"

namespace netd::netctl {
namespace {

struct Failure {
    int code;
    std::string message;
};

int exit_for(const std::string& code) {
    if (code == "invalid") return invalid;
    if (code == "not_found") return not_found;
    if (code == "conflict") return conflict;
    if (code == "unreachable") return unreachable;
    return failed;
}

// `fd` as fd 3, inherited by the program: dup2 leaves the copy without
// close-on-exec; a descriptor that is 3 already has it cleared.
void make_fd3(platform::UniqueFd fd) {
    if (fd.get() == tun_fd) {
        ::fcntl(tun_fd, F_SETFD, 0);
        (void)fd.release();
        return;
    }
    if (::dup2(fd.get(), tun_fd) < 0) throw Failure{failed, std::string("cannot make it fd 3: ") + std::strerror(errno)};
}

} // namespace

int tun_exec(const std::string& socket_path, const std::string& name, const std::vector<std::string>& command) {
    try {
        auto tun = client::fetch_tun_descriptor(socket_path, name);
        make_fd3(std::move(tun.fd));
    } catch (const client::FdRefused& refused) {
        std::cerr << "netctl: " << refused.what() << "\n";
        return exit_for(refused.code);
    } catch (const Failure& failure) {
        std::cerr << "netctl: " << failure.message << "\n";
        return failure.code;
    }
    ::setenv("NETD_TUN_FD", std::to_string(tun_fd).c_str(), 1);
    ::setenv("NETD_TUN_NAME", name.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    auto error = errno;
    std::cerr << "netctl: cannot run " << command.front() << ": " << std::strerror(error) << "\n";
    return error == ENOENT ? 127 : 126;
}

} // namespace netd::netctl
