#include "tun_exec.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "daemon_check.hpp"
#include "descriptor_passing.hpp"
#include "netd/error.hpp"
#include "netd/http/client.hpp"
#include "unique_fd.hpp"

namespace netd::netctl {
namespace {

// How long the daemon may take to answer: it answers at once, unless the
// socket is someone else's that never does.
constexpr int answer_seconds = 10;
constexpr std::size_t max_answer = 4096;

struct Failure {
    int code;
    std::string message;
};

int exit_for(const std::string& code) {
    if (code == "invalid") return invalid;
    if (code == "not_found") return not_found;
    if (code == "conflict") return conflict;
    return failed;
}

platform::UniqueFd connect_to(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        throw Failure{invalid, "the fd socket path \"" + path + "\" is empty or too long"};
    }
    std::memcpy(address.sun_path, path.c_str(), path.size());
    auto fd = platform::unix_stream_socket();
    if (!fd) throw Failure{failed, std::string("cannot open a socket: ") + std::strerror(errno)};
    timeval timeout{answer_seconds, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw Failure{unreachable, "cannot reach tun-daemon's fd socket at " + path + ": " + std::strerror(errno) +
                                       " (is tun-daemon running with --fd-socket " + path + "?)"};
    }
    try {
        check_daemon(fd.get(), true);
    } catch (const http::Untrusted& error) {
        throw Failure{failed, "refusing to talk to tun-daemon at " + path + ": " + error.what()};
    }
    return fd;
}

// The daemon's answer line and the descriptor that came with it.
platform::Received ask(const std::string& path, const std::string& name) {
    auto fd = connect_to(path);
    auto request = name + "\n";
    if (::send(fd.get(), request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
        throw Failure{unreachable, "cannot send to tun-daemon at " + path + ": " + std::strerror(errno)};
    }
    platform::Received answer;
    while (answer.text.find('\n') == std::string::npos && answer.text.size() < max_answer) {
        platform::Received part;
        try {
            part = platform::receive_with_descriptor(fd.get(), max_answer - answer.text.size());
        } catch (const Error& error) {
            throw Failure{unreachable, "tun-daemon at " + path + " did not answer: " + error.what()};
        }
        if (part.text.empty()) break; // closed
        answer.text += part.text;
        if (part.fd && !answer.fd) answer.fd = std::move(part.fd);
    }
    return answer;
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
        auto answer = ask(socket_path, name);
        auto line = answer.text.substr(0, answer.text.find('\n'));
        auto json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_object() && json.contains("error") && json["error"].is_object()) {
            const auto& error = json["error"];
            throw Failure{exit_for(error.value("code", "")), "tun-daemon at " + socket_path + " refused " + name +
                                                                 ": " + error.value("message", line)};
        }
        if (!json.is_object() || json.value("name", "") != name || !answer.fd) {
            throw Failure{failed, "tun-daemon at " + socket_path + " answered without " + name + "'s descriptor: " +
                                      line.substr(0, 200)};
        }
        make_fd3(std::move(answer.fd));
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
