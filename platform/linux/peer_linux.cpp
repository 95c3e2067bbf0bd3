#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "netd/platform/platform.hpp"
#include "unique_fd.hpp"

namespace netd::platform {

std::optional<Peer> unix_peer(int fd) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return std::nullopt;
    return Peer{credentials.uid, credentials.pid};
}

std::vector<std::uint32_t> unix_peer_groups(int fd) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return {};
    std::vector<std::uint32_t> groups{credentials.gid}; // the effective group
    // SO_PEERGROUPS (Linux 4.13) says how many there are when the buffer is
    // too small (ERANGE); an older kernel lacks it, and then only the
    // effective group is known.
    std::vector<gid_t> supplementary(16);
    for (int attempt = 0; attempt < 4; ++attempt) {
        length = static_cast<socklen_t>(supplementary.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, supplementary.data(), &length) == 0) {
            supplementary.resize(length / sizeof(gid_t));
            groups.insert(groups.end(), supplementary.begin(), supplementary.end());
            return groups;
        }
        if (errno != ERANGE) break;
        supplementary.resize(length / sizeof(gid_t) + 1);
    }
    return groups;
}

namespace {

// One end of a TCP connection as inet_diag names it: family, address bytes
// (network order) and port (network order).
struct End {
    int family = AF_UNSPEC;
    unsigned char address[16]{};
    std::uint16_t port = 0;
};

// An IPv4 client of an IPv6 socket ([::] listens on both) shows as
// ::ffff:a.b.c.d here, but its own socket is AF_INET: ask for that.
End end_of(const sockaddr_storage& storage) {
    End end;
    if (storage.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(storage);
        end.family = AF_INET;
        std::memcpy(end.address, &in.sin_addr, 4);
        end.port = in.sin_port;
    } else if (storage.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
        end.port = in6.sin6_port;
        if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
            end.family = AF_INET;
            std::memcpy(end.address, in6.sin6_addr.s6_addr + 12, 4);
        } else {
            end.family = AF_INET6;
            std::memcpy(end.address, in6.sin6_addr.s6_addr, 16);
        }
    }
    return end;
}

// The kernel's TCP states whose diag answer carries no owner (uid 0 stands
// in): a connection in TIME_WAIT, or one still being set up. Taking those at
// their word would make anyone root.
constexpr unsigned char tcp_syn_recv = 3, tcp_time_wait = 6, tcp_new_syn_recv = 12;

} // namespace

namespace {

// The TCP socket at `source` connected to `destination`, both of `family`,
// as the kernel's sock_diag finds it by its 4-tuple: its owner, or empty.
std::optional<Peer> lookup(const End& source, const End& destination) {
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST; // one socket by its 4-tuple, not a dump
    message.header.nlmsg_seq = 1;
    auto& request = message.request;
    request.sdiag_family = static_cast<std::uint8_t>(source.family);
    request.sdiag_protocol = IPPROTO_TCP;
    request.idiag_states = ~0u;
    request.id.idiag_sport = source.port;
    request.id.idiag_dport = destination.port;
    std::memcpy(request.id.idiag_src, source.address, sizeof source.address);
    std::memcpy(request.id.idiag_dst, destination.address, sizeof destination.address);
    request.id.idiag_cookie[0] = request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

    UniqueFd diag(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!diag) return std::nullopt;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(diag.get(), &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) !=
        static_cast<ssize_t>(sizeof message)) {
        return std::nullopt;
    }
    // The kernel answers a lookup by 4-tuple within sendto itself, so the
    // answer is already queued: MSG_DONTWAIT never loses it, and the I/O
    // thread never waits on the kernel here.
    alignas(nlmsghdr) char answer[8192];
    auto received = recv(diag.get(), answer, sizeof answer, MSG_DONTWAIT);
    if (received <= 0) return std::nullopt;
    auto remaining = static_cast<int>(received);
    for (auto* header = reinterpret_cast<nlmsghdr*>(answer); mnl_nlmsg_ok(header, remaining);
         header = mnl_nlmsg_next(header, &remaining)) {
        if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) return std::nullopt; // NLMSG_ERROR: no such socket
        if (header->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) return std::nullopt;
        const auto* found = reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(header));
        // Only the socket asked for will do.
        bool same = found->idiag_family == source.family && found->id.idiag_sport == source.port &&
                    found->id.idiag_dport == destination.port &&
                    std::memcmp(found->id.idiag_src, source.address, sizeof source.address) == 0 &&
                    std::memcmp(found->id.idiag_dst, destination.address, sizeof destination.address) == 0;
        if (!same || found->idiag_state == tcp_syn_recv || found->idiag_state == tcp_time_wait ||
            found->idiag_state == tcp_new_syn_recv) {
            return std::nullopt;
        }
        return Peer{found->idiag_uid, std::nullopt};
    }
    return std::nullopt;
}

// `end`, an IPv4 one, as an IPv6 socket open to both families holds it:
// ::ffff:a.b.c.d.
End mapped(const End& end) {
    End out;
    out.family = AF_INET6;
    out.port = end.port;
    out.address[10] = out.address[11] = 0xff;
    std::memcpy(out.address + 12, end.address, 4);
    return out;
}

} // namespace

std::optional<Peer> tcp_peer(int fd) {
    sockaddr_storage local{}, remote{};
    socklen_t local_length = sizeof local, remote_length = sizeof remote;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_length) != 0) {
        return std::nullopt;
    }
    // The other end's socket, seen from its side: its source is our peer,
    // its destination us.
    auto source = end_of(remote), destination = end_of(local);
    if (source.family == AF_UNSPEC || source.family != destination.family) return std::nullopt;
    if (auto found = lookup(source, destination)) return found;
    // An IPv4 connection may have an IPv6 socket open to both families at
    // the other end (a client of ::ffff:127.0.0.1, a server on [::]): it
    // holds the addresses mapped, and answers only to them.
    if (source.family == AF_INET) return lookup(mapped(source), mapped(destination));
    return std::nullopt;
}

} // namespace netd::platform
