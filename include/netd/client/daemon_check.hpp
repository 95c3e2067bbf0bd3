#pragma once

// Who may serve a daemon's address, as netctl and netd-tunnel check before it sends a byte.
namespace netd::client {

// Throws http::Untrusted unless whoever serves the connected socket `fd`
// (a Unix socket when `local`) is root or the user the daemons become
// (netd), as the kernel tells it.
void check_daemon(int fd, bool local);

} // namespace netd::client
