#include <fcntl.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/if_utun.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/kern_control.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/sys_domain.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>

#include "ids.hpp"
#include "interfaces_macos.hpp"
#include "kernel_error.hpp"
#include "macos_rules.hpp"
#include "netd/platform/platform.hpp"
#include "unique_fd.hpp"

namespace netd::platform {
namespace {

// Connects a utun control socket: unit 0 is the next free utun, N + 1 is
// utunN. The interface lives exactly as long as this descriptor.
UniqueFd open_utun(std::uint32_t unit) {
    UniqueFd fd(::socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL));
    if (!fd) fail_errno(errno, "opening a utun control socket");
    ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
    ctl_info info{};
    std::strncpy(info.ctl_name, UTUN_CONTROL_NAME, sizeof info.ctl_name - 1);
    if (::ioctl(fd.get(), CTLIOCGINFO, &info) < 0) fail_errno(errno, "finding the utun control (CTLIOCGINFO)");
    sockaddr_ctl address{};
    address.sc_len = sizeof address;
    address.sc_family = AF_SYSTEM;
    address.ss_sysaddr = AF_SYS_CONTROL;
    address.sc_id = info.ctl_id;
    address.sc_unit = unit;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
        if (errno == EBUSY) fail(ErrorCode::conflict, macos::utun_busy_message(unit));
        fail_errno(errno, "creating a utun interface");
    }
    return fd;
}

std::string utun_name(int fd) {
    char name[IFNAMSIZ] = {};
    socklen_t length = sizeof name;
    if (::getsockopt(fd, SYSPROTO_CONTROL, UTUN_OPT_IFNAME, name, &length) < 0) {
        fail_errno(errno, "reading the new utun's name (UTUN_OPT_IFNAME)");
    }
    return name;
}

// The kernel's layouts, which macos_rules.hpp writes byte for byte.
static_assert(sizeof(ifaliasreq) == sizeof(macos::AliasRequest), "macos::AliasRequest must mirror struct ifaliasreq");
static_assert(sizeof(rt_msghdr) == macos::rt_msghdr_size);
static_assert(offsetof(rt_msghdr, rtm_flags) == 8 && offsetof(rt_msghdr, rtm_addrs) == 12 &&
              offsetof(rt_msghdr, rtm_seq) == 20);
static_assert(sizeof(sockaddr_dl) == 20 && offsetof(sockaddr_dl, sdl_index) == 2);

// Routes `network` to the interface `name` (route add -net N -interface
// name): a point-to-point address routes its destination alone. The route
// goes with the interface when the utun closes.
void route_to(const std::string& name, const net::Cidr& network) {
    static std::int32_t sequence = 0;
    auto index = ::if_nametoindex(name.c_str());
    if (index == 0) fail_errno(errno, "finding " + name + "'s index");
    auto message = macos::route_add_message(static_cast<std::uint16_t>(index), network, ++sequence);
    UniqueFd fd(::socket(PF_ROUTE, SOCK_RAW, AF_INET));
    if (!fd) fail_errno(errno, "opening a routing socket");
    ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
    auto written = ::write(fd.get(), message.data(), message.size());
    if (written < 0) fail_errno(errno, "routing " + network.to_string() + " to " + name + " (RTM_ADD)");
    if (static_cast<std::size_t>(written) != message.size()) {
        fail(ErrorCode::internal, "routing " + network.to_string() + " to " + name + ": a short write");
    }
}

// utun interfaces, each alive while tun-daemon holds its descriptor: macOS
// has no persistent TUN. What the daemon holds is therefore what it
// manages, and DELETE closes the descriptor. After a restart they are gone;
// --restore recreates them from the saved intents, with the same names where
// free. The kernel is still asked for each one's address.
class MacTunBackend : public TunBackend {
public:
    TunInterface create(const TunSpec& spec, const net::InterfaceAddress& address,
                        const std::optional<net::InterfaceAddress>& address6) override {
        // A utun has no owner in the kernel: the daemon keeps them, and they
        // decide who may have its descriptor (attach).
        std::optional<std::uint32_t> owner, group;
        if (spec.owner) owner = user_id(*spec.owner);
        if (spec.group) group = group_id(*spec.group);
        if (spec.multi_queue) fail(ErrorCode::invalid, "multi_queue is Linux's (IFF_MULTI_QUEUE); a utun has one queue");
        if (!spec.extra_addresses.empty() || !spec.routes.empty() || address6) {
            fail(ErrorCode::invalid, "extra_addresses, routes and ipv6 are not supported on macOS yet");
        }
        macos::check_mtu(spec.mtu);
        auto unit = macos::utun_control_unit(spec.name);
        // SIOCAIFADDR would take an address held already without a word.
        macos::check_address_free(ipv4_addresses(), address);
        auto fd = open_utun(unit);
        auto name = utun_name(fd.get());
        // All or nothing: until the descriptor is kept below, a failure
        // closes it, and the utun goes with it.
        auto request = macos::point_to_point_alias_request(name, address);
        ifaliasreq alias{};
        std::memcpy(&alias, &request, sizeof alias);
        if (::ioctl(control_.get(), SIOCAIFADDR, &alias) < 0) fail_errno(errno, "addressing " + name + " (SIOCAIFADDR)");
        ifreq interface{};
        std::strncpy(interface.ifr_name, name.c_str(), IFNAMSIZ - 1);
        interface.ifr_mtu = spec.mtu;
        if (::ioctl(control_.get(), SIOCSIFMTU, &interface) < 0) fail_errno(errno, "setting " + name + "'s MTU (SIOCSIFMTU)");
        if (::ioctl(control_.get(), SIOCGIFFLAGS, &interface) < 0) fail_errno(errno, "reading " + name + "'s flags");
        interface.ifr_flags |= IFF_UP;
        if (::ioctl(control_.get(), SIOCSIFFLAGS, &interface) < 0) fail_errno(errno, "bringing " + name + " up");
        route_to(name, address.network());
        held_.emplace(name, Held{std::move(fd), owner, group});
        return {name, address, std::nullopt, owner, group, spec.mtu};
    }

    // No fwmark, so no policy routing by mark (TunService refuses one).
    bool supports_marks() const override { return false; }

    // The kernel numbers a utun asked for without a name; such a create is
    // journaled once it is made (a utun dies with the daemon anyway).
    std::optional<std::string> next_name() override { return std::nullopt; }

    std::vector<TunInterface> list() override {
        std::vector<TunInterface> out;
        for (const auto& entry : ipv4_addresses()) {
            if (auto held = held_.find(entry.interface); held != held_.end()) {
                out.push_back({entry.interface, entry.address, std::nullopt, held->second.owner, held->second.group,
                               mtu_of(entry.interface)});
            }
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        return out;
    }

    // No change feed is read on macOS: every listing is read afresh.
    std::uint64_t generation() override { return ++listings_; }

    void remove(std::string_view name) override {
        if (held_.erase(std::string(name)) == 0) {
            fail(ErrorCode::not_found, "no TUN named " + std::string(name) + " is managed by tun-daemon");
        }
    }

    // Another descriptor of the same utun control socket: a utun can be
    // reached only through the descriptor that made it. The utun then lives
    // until the last of them closes, so it outlasts a DELETE (and the
    // daemon) while the client keeps its copy.
    UniqueFd attach(std::string_view name, bool vnet_hdr) override {
        // A utun has no virtio header and no offloads to turn on.
        if (vnet_hdr) fail(ErrorCode::invalid, "vnet_hdr is Linux's: a utun has no offloads");
        auto held = held_.find(std::string(name));
        if (held == held_.end()) {
            fail(ErrorCode::not_found, "no TUN named " + std::string(name) + " is managed by tun-daemon");
        }
        UniqueFd copy(::fcntl(held->second.fd.get(), F_DUPFD_CLOEXEC, 0));
        if (!copy) fail_errno(errno, "duplicating " + held->first + "'s descriptor");
        return copy;
    }

private:
    struct Held {
        UniqueFd fd;
        std::optional<std::uint32_t> owner, group; // who may have a descriptor, besides root
    };

    int mtu_of(const std::string& name) {
        ifreq interface{};
        std::strncpy(interface.ifr_name, name.c_str(), IFNAMSIZ - 1);
        if (::ioctl(control_.get(), SIOCGIFMTU, &interface) < 0) fail_errno(errno, "reading " + name + "'s MTU");
        return interface.ifr_mtu;
    }

    UniqueFd control_{open_inet_control_socket()};
    std::map<std::string, Held> held_;
    std::uint64_t listings_ = 0;
};

} // namespace

std::unique_ptr<TunBackend> make_tun_backend() { return std::make_unique<MacTunBackend>(); }

} // namespace netd::platform
