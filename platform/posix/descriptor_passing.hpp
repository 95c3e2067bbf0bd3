#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "unique_fd.hpp"

// A descriptor passed over a connected Unix stream socket (SCM_RIGHTS), as
// tun-daemon's fd socket and netctl tun exec do; the same on Linux and macOS.
namespace netd::platform {

// A new Unix stream socket, close-on-exec from the start where the OS can
// (SOCK_CLOEXEC; macOS has none, and sets it at once after); invalid with
// errno set on failure.
UniqueFd unix_stream_socket();

// Sends `text` in one sendmsg, with `fd` attached to it when it is not -1.
// Never waits (MSG_DONTWAIT) and never raises SIGPIPE: false, with errno
// set, when the socket did not take it all at once (a short answer on a
// fresh connection always fits).
bool send_with_descriptor(int socket, std::string_view text, int fd = -1);

// What one recvmsg brought: at most `limit` bytes, and the descriptor sent
// with them, if any (close-on-exec; others sent along are closed).
struct Received {
    std::string text;
    UniqueFd fd;
};

// Waits as the socket does (SO_RCVTIMEO bounds it); throws unavailable,
// naming the errno, when recvmsg fails. Empty text: the other end closed.
Received receive_with_descriptor(int socket, std::size_t limit);

} // namespace netd::platform
