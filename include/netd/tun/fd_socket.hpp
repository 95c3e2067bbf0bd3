#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "netd/backend.hpp"
#include "netd/daemon/sidecar.hpp"
#include "netd/tun/fd_access.hpp"
#include "netd/tun_service.hpp"

namespace netd {

struct FdSocketLimits {
    std::chrono::milliseconds request_timeout{5000}; // for the request line, from accept
    std::size_t max_connections = 32;                // past them, a newcomer is answered unavailable
};

// tun-daemon's fd socket: a Unix stream socket where a local client sends a
// TUN's name and a newline, and gets back one JSON line, with a descriptor
// of that TUN attached (SCM_RIGHTS) when the kernel's record of who
// connected allows it (descriptor_refusal); then the connection closes.
// Served on the daemon's io_context without blocking it: the line is read
// asynchronously within a deadline, and the answer, a short line on a fresh
// connection, is sent without waiting. Grants are logged at INFO, refusals
// at WARN (within the bounds the API's refused requests have).
class FdSocket : public daemon::Sidecar {
public:
    // Binds `path`, mode 0666: anyone may ask, and the caller's credentials
    // decide. Its directory is created when missing and, when it is the
    // daemon's own, opened for search by others (never for writing), so
    // that users can reach the socket. A stale socket file is replaced;
    // a path another process serves, or anything but a socket, is refused
    // (unavailable), naming it.
    FdSocket(boost::asio::io_context& io, const std::string& path, TunService& service, TunBackend& backend,
             FdSocketLimits limits = {});
    ~FdSocket() override;

    void start() override;
    void stop() override;

    struct State; // shared with the connections in flight (fd_socket.cpp)

private:
    std::shared_ptr<State> state_;
};

} // namespace netd
