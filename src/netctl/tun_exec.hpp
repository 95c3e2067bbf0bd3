#pragma once

#include <string>
#include <vector>

// netctl tun exec: runs a program with a TUN's descriptor, fetched from
// tun-daemon's fd socket, as fd 3.
namespace netd::netctl {

// What the program finds, as systemd's socket activation passes LISTEN_FDS.
inline constexpr int tun_fd = 3;

// Asks the fd socket at `socket_path` for the TUN `name`'s descriptor (after
// checking that root or netd serves it), makes it fd 3 (inherited), sets
// NETD_TUN_FD=3 and NETD_TUN_NAME, and replaces netctl with `command`
// (execvp). Returns only on failure, with netctl's exit code, having said
// why on stderr: the daemon's refusals map as its HTTP answers do (invalid
// 2, not found 3, conflict 4, refused 1), an unreachable socket is 5, and a
// command that cannot run is 127 (not found) or 126, as in a shell.
int tun_exec(const std::string& socket_path, const std::string& name, const std::vector<std::string>& command);

} // namespace netd::netctl
