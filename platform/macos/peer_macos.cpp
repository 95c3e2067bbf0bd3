#include <arpa/inet.h>
#include <libproc.h>
#include <netinet/in.h>
#include <sys/proc_info.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/ucred.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "macos_rules.hpp"
#include "netd/platform/platform.hpp"

namespace netd::platform {
namespace {

// One TCP identification reads at most this many sockets' details
// (proc_pidfdinfo), and this many processes: past either, it gives up
// (unidentified) rather than hold the accept longer.
constexpr int max_sockets_read = 20000;
constexpr int max_processes = 8192;

std::optional<macos::TcpEnd> end_of(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(address);
        std::array<std::uint8_t, 4> bytes{};
        std::memcpy(bytes.data(), &in.sin_addr, bytes.size());
        return macos::tcp_end_v4(bytes, ntohs(in.sin_port));
    }
    if (address.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
        std::array<std::uint8_t, 16> bytes{};
        std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
        return macos::tcp_end_v6(bytes, ntohs(in6.sin6_port));
    }
    return std::nullopt;
}

// libproc's ports are ints holding the port in network order (XNU,
// bsd/kern/socket_info.c: insi_lport = inp->inp_lport); an address is
// IPv4 in the in4in6 form when INI_IPV4 is set, IPv6 otherwise.
macos::TcpEnd end_of(const in_sockinfo& info, bool local) {
    auto port = ntohs(static_cast<std::uint16_t>(local ? info.insi_lport : info.insi_fport));
    // The two unions are of distinct unnamed types.
    const auto& v4 = local ? info.insi_laddr.ina_46.i46a_addr4 : info.insi_faddr.ina_46.i46a_addr4;
    const auto& v6 = local ? info.insi_laddr.ina_6 : info.insi_faddr.ina_6;
    if (info.insi_vflag & INI_IPV4) {
        std::array<std::uint8_t, 4> bytes{};
        std::memcpy(bytes.data(), &v4, bytes.size());
        return macos::tcp_end_v4(bytes, port);
    }
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &v6, bytes.size());
    return macos::tcp_end_v6(bytes, port);
}

// The descriptors of `pid`, or none when it cannot be read (gone, or
// another user's to a caller who is not root).
std::vector<proc_fdinfo> descriptors_of(pid_t pid) {
    int size = ::proc_pidinfo(pid, PROC_PIDLISTFDS, 0, nullptr, 0);
    if (size <= 0) return {};
    // Room for a few opened meanwhile.
    std::vector<proc_fdinfo> fds(static_cast<std::size_t>(size) / sizeof(proc_fdinfo) + 16);
    size = ::proc_pidinfo(pid, PROC_PIDLISTFDS, 0, fds.data(), static_cast<int>(fds.size() * sizeof(proc_fdinfo)));
    if (size <= 0) return {};
    fds.resize(static_cast<std::size_t>(size) / sizeof(proc_fdinfo));
    return fds;
}

std::optional<std::uint32_t> uid_of(pid_t pid) {
    proc_bsdinfo info{};
    if (::proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, sizeof info) != static_cast<int>(sizeof info)) {
        return std::nullopt;
    }
    return info.pbi_uid;
}

} // namespace

std::optional<Peer> unix_peer(int fd) {
    uid_t uid = 0;
    gid_t gid = 0;
    if (::getpeereid(fd, &uid, &gid) != 0) return std::nullopt;
    Peer peer{static_cast<std::uint32_t>(uid), std::nullopt};
    pid_t pid = 0;
    socklen_t length = sizeof pid;
    if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &length) == 0) peer.pid = pid;
    return peer;
}

// XNU (bsd/kern/uipc_usrreq.c, unp_connect) copies the connecting process's
// credentials: cr_groups[0] is its effective group, and at most NGROUPS (16)
// groups are kept.
std::vector<std::uint32_t> unix_peer_groups(int fd) {
    xucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &credentials, &length) != 0 ||
        credentials.cr_version != XUCRED_VERSION) {
        return {};
    }
    auto count = std::min<int>(credentials.cr_ngroups, NGROUPS);
    return {credentials.cr_groups, credentials.cr_groups + std::max(count, 0)};
}

// macOS has no NETLINK_SOCK_DIAG: the other end's socket is looked for in
// every process (libproc, as lsof does), as the TCP socket whose local end
// is our foreign one and whose foreign end is our local one; its process's
// uid is the peer's. Only for a loopback peer (no process here holds
// another host's end), within the bounds above, and only when every holder
// found has the same uid. Reading other users' processes takes root, which
// the daemon is on macOS; netctl, as a user, finds only its own.
std::optional<Peer> tcp_peer(int fd) {
    sockaddr_storage local{};
    sockaddr_storage remote{};
    socklen_t local_length = sizeof local;
    socklen_t remote_length = sizeof remote;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_length) != 0) {
        return std::nullopt;
    }
    auto ours = end_of(local);
    auto theirs = end_of(remote);
    if (!ours || !theirs || !macos::is_loopback(*theirs)) return std::nullopt;

    int count = ::proc_listallpids(nullptr, 0);
    if (count <= 0) return std::nullopt;
    std::vector<pid_t> pids(static_cast<std::size_t>(count) + 64);
    count = ::proc_listallpids(pids.data(), static_cast<int>(pids.size() * sizeof(pid_t)));
    if (count <= 0 || count > max_processes) return std::nullopt;
    pids.resize(std::min(static_cast<std::size_t>(count), pids.size()));

    std::vector<macos::SocketHolder> holders;
    int sockets_read = 0;
    for (pid_t pid : pids) {
        for (const auto& descriptor : descriptors_of(pid)) {
            if (descriptor.proc_fdtype != PROX_FDTYPE_SOCKET) continue;
            if (++sockets_read > max_sockets_read) return std::nullopt;
            socket_fdinfo info{};
            if (::proc_pidfdinfo(pid, descriptor.proc_fd, PROC_PIDFDSOCKETINFO, &info, sizeof info) !=
                static_cast<int>(sizeof info)) {
                continue;
            }
            if (info.psi.soi_kind != SOCKINFO_TCP) continue;
            const auto& tcp = info.psi.soi_proto.pri_tcp.tcpsi_ini;
            if (end_of(tcp, true) != *theirs || end_of(tcp, false) != *ours) continue;
            auto uid = uid_of(pid);
            if (!uid) return std::nullopt; // a holder we cannot name: unsure
            holders.push_back({*uid, pid});
        }
    }
    return macos::sole_owner(holders);
}

} // namespace netd::platform
