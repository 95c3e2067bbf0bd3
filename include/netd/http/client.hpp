#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

namespace netd::http {

struct Reply {
    int status = 0;
    std::string body;
};

// Where a server listens: "HOST:PORT" over TCP, or a Unix socket path.
struct Endpoint {
    std::string tcp;         // "127.0.0.1:3030"
    std::string unix_socket; // used instead of tcp when set
    // Called with the connected socket before a byte is sent: throws
    // Untrusted when whoever serves it is not who should (a squatter on the
    // daemon's port would otherwise receive the token). Local is whether
    // it is a Unix socket.
    std::function<void(int fd, bool local)> check_server{};

    std::string describe() const { return unix_socket.empty() ? tcp : unix_socket; }
};

// Thrown when the server cannot be reached at all (refused, timed out).
struct Unreachable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Thrown by Endpoint::check_server: nothing was sent.
struct Untrusted : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One blocking HTTP/1.1 request (netctl's to a daemon, a daemon's to etcd), with a bearer token when one is
// given, bounded by `timeout`.
Reply call(const Endpoint& endpoint, const std::string& method, const std::string& target, const std::string& body,
           const std::string& token, std::chrono::seconds timeout = std::chrono::seconds(10));

} // namespace netd::http
