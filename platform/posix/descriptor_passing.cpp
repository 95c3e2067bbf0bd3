#include "descriptor_passing.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "netd/error.hpp"

namespace netd::platform {

UniqueFd unix_stream_socket() {
#ifdef SOCK_CLOEXEC
    return UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
#else
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    if (fd) ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
    return fd;
#endif
}

bool send_with_descriptor(int socket, std::string_view text, int fd) {
    iovec data{const_cast<char*>(text.data()), text.size()};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        auto* header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
    }
#ifdef MSG_NOSIGNAL
    int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
#else
    // macOS's socket has the option instead of the flag.
    int on = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
    int flags = MSG_DONTWAIT;
#endif
    ssize_t sent;
    do {
        sent = ::sendmsg(socket, &message, flags);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return false;
    if (static_cast<std::size_t>(sent) != text.size()) {
        errno = EAGAIN;
        return false;
    }
    return true;
}

Received receive_with_descriptor(int socket, std::size_t limit) {
    std::vector<char> buffer(limit);
    iovec data{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    // Room for a few, so that a sender passing more cannot leave some
    // unclosed in a truncated message.
    alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
    message.msg_control = control;
    message.msg_controllen = sizeof control;
#ifdef MSG_CMSG_CLOEXEC
    int flags = MSG_CMSG_CLOEXEC;
#else
    int flags = 0; // macOS: close-on-exec is set just below
#endif
    ssize_t received;
    do {
        received = ::recvmsg(socket, &message, flags);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        auto what = errno == EAGAIN || errno == EWOULDBLOCK ? std::string("no answer in time")
                                                            : std::string(std::strerror(errno));
        fail(ErrorCode::unavailable, what);
    }
    Received out;
    out.text.assign(buffer.data(), static_cast<std::size_t>(received));
    for (auto* header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        auto count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
            UniqueFd owned(fd);
#ifndef MSG_CMSG_CLOEXEC
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
            if (!out.fd) out.fd = std::move(owned);
        }
    }
    return out;
}

} // namespace netd::platform
