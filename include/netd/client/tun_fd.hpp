#pragma once

#include <stdexcept>
#include <string>

#include "unique_fd.hpp"

// A TUN's descriptor, fetched from tun-daemon's fd socket (README, "Handing
// a TUN to a program"): what netctl tun exec and netd-tunnel both do.
namespace netd::client {

// Why there is no descriptor. `code` is the daemon's own (invalid,
// not_found, forbidden, conflict, unavailable, internal), or, when it did
// not answer, "unreachable" (nothing listens or it went silent) or
// "failed" (someone else serves the socket, or the answer was not one).
struct FdRefused : std::runtime_error {
    FdRefused(std::string code, const std::string& message) : std::runtime_error(message), code(std::move(code)) {}
    std::string code;
};

struct TunDescriptor {
    platform::UniqueFd fd; // close-on-exec
    // The TUN was opened with IFF_VNET_HDR (asked with `vnet_hdr`): each
    // packet read or written starts with a struct virtio_net_hdr. Linux only.
    bool vnet_hdr = false;
};

// Asks the fd socket at `socket_path`, after checking that root or netd
// serves it (check_daemon), for the TUN `name`'s descriptor; throws
// FdRefused. Blocks for 10 s at most.
TunDescriptor fetch_tun_descriptor(const std::string& socket_path, const std::string& name, bool vnet_hdr = false);

} // namespace netd::client
