#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netd/backend.hpp"
#include "netd/intents.hpp"

// The backends of the operating system this was built for: platform/linux or
// platform/macos provides these, and CMake picks which.
namespace netd::platform {

// What each daemon writes on what it makes, so that it finds its own again
// after a restart and never touches anyone else's.
inline constexpr const char* tun_tag = "netd:tun-daemon";
inline constexpr const char* subnet_tag = "netd:subnet-daemon";

// The user the daemons become once set up (make install creates it), and
// whom netctl trusts to serve them besides root.
inline constexpr const char* daemon_user = "netd";

enum class SubnetMode {
    automatic, // a dummy interface where the kernel has the type, else loopback
    dummy,     // a dummy interface per subnet (netd0, netd1, ...)
    loopback,  // an address on the loopback interface, labelled lo:N
};

// `lock_file` is where the daemons of one host take turns to allocate (see
// HostNetwork); every daemon on the host must name the same one.
std::unique_ptr<HostNetwork> make_host_network(const std::string& lock_file);
std::unique_ptr<TunBackend> make_tun_backend();

// Who is at the other end of a connection, as the kernel tells it.
struct Peer {
    std::uint32_t uid = 0;
    std::optional<std::int64_t> pid{}; // where the kernel says (Unix sockets)
};

// The process at the other end of a connected Unix socket (SO_PEERCRED on
// Linux, getpeereid and LOCAL_PEERPID on macOS); empty when unknown.
std::optional<Peer> unix_peer(int fd);

// The groups of the process at the other end of a connected Unix socket, as
// the kernel recorded them when it connected: its effective group first,
// then its supplementary groups (SO_PEERCRED and SO_PEERGROUPS on Linux;
// LOCAL_PEERCRED on macOS, which tells 16 groups at most). Empty when
// unknown. These are what the kernel itself checks when that process opens
// a TUN of a group (TUNSETIFF), so tun-daemon hands out descriptors by them.
std::vector<std::uint32_t> unix_peer_groups(int fd);

// The owner of the other end of an accepted TCP connection, when that end is
// a socket on this host in this network namespace; empty otherwise. On
// Linux, found by its 4-tuple with NETLINK_SOCK_DIAG: one short netlink
// request and answer, without waiting. On macOS, only for a loopback peer:
// the socket with the reversed 4-tuple is looked for in every process
// (libproc), within a bound on the sockets read, and its process's uid is
// the owner (empty when none or several differing owners are found); this
// is compiled against the macOS 12.0 SDK but has never run. Made once per
// connection, at accept.
std::optional<Peer> tcp_peer(int fd);

// The groups of the user `uid` in the user database: their primary group and
// the supplementary ones (getgrouplist); empty when the uid has no entry.
std::vector<std::uint32_t> groups_of(std::uint32_t uid);

// The id of the group `name`, or empty when there is none.
std::optional<std::uint32_t> find_group(const std::string& name);

// Throws unavailable, saying how to run the daemon, unless it may manage
// network interfaces.
void require_privileges();

// A user the daemon can run as: its uid and primary group.
struct Account {
    std::string name;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
};

// The user `name` in the user database, or empty when there is none.
std::optional<Account> find_account(const std::string& name);

// Whether this process can become another user and keep managing
// interfaces: on Linux, root with CAP_SETUID, CAP_SETGID and CAP_CHOWN (not
// so under a unit that grants CAP_NET_ADMIN alone); never on macOS, where
// configuring interfaces takes root itself.
bool can_become_another_user();

// Whether `account`, with its own group alone, may open `path` for reading
// and writing by its mode (/dev/net/tun is 0666 where udev makes it, 0600
// in some containers).
bool may_open(const Account& account, const std::string& path);

// Gives `path`, and when it is a directory the entries directly in it, to
// `account`, never following a symlink: what the daemon writes after it
// has become that user. Throws unavailable, naming the path.
void hand_over(const std::string& path, const Account& account);

// Keeps only what managing interfaces needs (CAP_NET_ADMIN on Linux),
// becomes `account` when one is given (its uid and group, no supplementary
// groups), forbids gaining privileges again (no_new_privs) and returns the
// effective set as text, for the log. Linux capabilities belong to a
// thread, so this covers the calling thread only: the daemon's one other
// thread gives up all of them itself, with drop_thread_privileges().
std::string drop_privileges(const std::optional<Account>& account = std::nullopt);
void drop_thread_privileges();
// Whether drop_privileges() is done: a thread that kept CAP_SETUID and
// CAP_SETGID for the change of user calls drop_thread_privileges() again.
bool privileges_settled();
// `intents` are what clients asked for: where the OS cannot tag an address
// (macOS has no address labels), they are how the backend knows its own.
std::unique_ptr<SubnetBackend> make_subnet_backend(SubnetMode mode, const Intents& intents);

// Which running kernel the daemon talks to, as text: the boot, and on Linux
// the network namespace too (a new one holds nothing an old one had); empty
// when that cannot be told. Kept beside the journal, it tells a restart of
// the daemon (the kernel still has all it had) from a reboot.
std::string kernel_instance();

// Tells the service manager that the daemon serves: READY=1 to systemd's
// $NOTIFY_SOCKET (Type=notify); nothing under launchd, which has no such
// protocol.
void notify_ready();

} // namespace netd::platform
