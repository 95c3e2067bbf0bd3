#include "netd/client/tun_fd.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "descriptor_passing.hpp"
#include "netd/client/daemon_check.hpp"
#include "netd/error.hpp"
#include "netd/http/client.hpp"

namespace netd::client {
namespace {

// How long the daemon may take to answer: it answers at once, unless the
// socket is someone else's that never does.
constexpr int answer_seconds = 10;
constexpr std::size_t max_answer = 4096;

platform::UniqueFd connect_to(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        throw FdRefused("invalid", "the fd socket path \"" + path + "\" is empty or too long");
    }
    std::memcpy(address.sun_path, path.c_str(), path.size());
    auto fd = platform::unix_stream_socket();
    if (!fd) throw FdRefused("failed", std::string("cannot open a socket: ") + std::strerror(errno));
    timeval timeout{answer_seconds, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw FdRefused("unreachable", "cannot reach tun-daemon's fd socket at " + path + ": " +
                                           std::strerror(errno) + " (is tun-daemon running with --fd-socket " +
                                           path + "?)");
    }
    try {
        check_daemon(fd.get(), true);
    } catch (const http::Untrusted& error) {
        throw FdRefused("failed", "refusing to talk to tun-daemon at " + path + ": " + error.what());
    }
    return fd;
}

// The daemon's answer line and the descriptor that came with it.
platform::Received ask(const std::string& path, const std::string& request) {
    auto fd = connect_to(path);
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        throw FdRefused("unreachable", "cannot send to tun-daemon at " + path + ": " + std::strerror(errno));
    }
    platform::Received answer;
    while (answer.text.find('\n') == std::string::npos && answer.text.size() < max_answer) {
        platform::Received part;
        try {
            part = platform::receive_with_descriptor(fd.get(), max_answer - answer.text.size());
        } catch (const Error& error) {
            throw FdRefused("unreachable", "tun-daemon at " + path + " did not answer: " + error.what());
        }
        if (part.text.empty()) break; // closed
        answer.text += part.text;
        if (part.fd && !answer.fd) answer.fd = std::move(part.fd);
    }
    return answer;
}

} // namespace

TunDescriptor fetch_tun_descriptor(const std::string& socket_path, const std::string& name, bool vnet_hdr) {
    auto answer = ask(socket_path, name + (vnet_hdr ? " vnet_hdr\n" : "\n"));
    auto line = answer.text.substr(0, answer.text.find('\n'));
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json.contains("error") && json["error"].is_object()) {
        const auto& error = json["error"];
        throw FdRefused(error.value("code", "failed"),
                        "tun-daemon at " + socket_path + " refused " + name + ": " + error.value("message", line));
    }
    if (!json.is_object() || json.value("name", "") != name || !answer.fd ||
        json.value("vnet_hdr", false) != vnet_hdr) {
        throw FdRefused("failed", "tun-daemon at " + socket_path + " answered without " + name +
                                      "'s descriptor as asked: " + line.substr(0, 200));
    }
    return TunDescriptor{std::move(answer.fd), vnet_hdr};
}

} // namespace netd::client
