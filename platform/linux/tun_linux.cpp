#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

#include "netd/net/interface_name.hpp"
#include "netd/net/name_picker.hpp"
#include "netd/platform/platform.hpp"
#include "ids.hpp"
#include "kernel_mirror.hpp"
#include "netlink.hpp"
#include "tun_marks_linux.hpp"
#include "unique_fd.hpp"

namespace netd::platform {
namespace {

UniqueFd open_tun_device() {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (fd) return fd;
    if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
        fail(ErrorCode::unavailable, "/dev/net/tun is missing (load the tun module: modprobe tun)");
    }
    fail_errno(errno, "opening /dev/net/tun");
}

// For tests only: NETD_TEST_CRASH_AT=<step> kills the daemon at that step
// of a create, with SIGKILL as kill -9 would, so that a test can stop it
// between two kernel calls deterministically. Unset outside the tests.
void crash_point_for_tests(const char* step) {
    static const char* wanted = std::getenv("NETD_TEST_CRASH_AT");
    if (wanted && std::strcmp(wanted, step) == 0) ::raise(SIGKILL);
}

// TUNs via /dev/net/tun, configured and found again over rtnetlink. Each is
// persistent (it outlives our fd, and the daemon) and carries tun_tag as its
// alias, which is how list and remove know it is ours.
class LinuxTunBackend : public TunBackend {
public:
    LinuxTunBackend() {
        for (const auto& name : netlink_.delete_unaddressed_links("tun", tun_tag)) {
            spdlog::warn("removed {}, a TUN of ours left without an address by an earlier crash", name);
        }
        sweep_stale_rules();
    }

    TunInterface create(const TunSpec& spec, const net::InterfaceAddress& address,
                        const std::optional<net::InterfaceAddress>& address6) override {
        // Named here rather than by the kernel's "tun%d", which scans every
        // interface of the namespace.
        auto name = spec.name ? *spec.name : names_.pick([this](const std::string& n) { return kernel_->name_taken(n); });
        std::optional<std::uint32_t> owner, group;
        if (spec.owner) owner = user_id(*spec.owner);
        if (spec.group) group = group_id(*spec.group);
        if (spec.name) {
            net::validate_interface_name(name);
            // TUNSETIFF would attach to an existing persistent TUN of that
            // name rather than fail, so a taken name is caught here first.
            if (kernel_->link(name)) fail(ErrorCode::conflict, "interface " + name + " already exists");
        }
        if (spec.mark) {
            sweep_stale_rules(); // a rule of ours that lost its TUN must not hold its mark
            check_mark_free(*kernel_, netlink_, *spec.mark);
        }
        auto fd = open_tun_device();
        ifreq request{};
        request.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | (spec.multi_queue ? IFF_MULTI_QUEUE : 0));
        std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
        if (::ioctl(fd.get(), TUNSETIFF, &request) < 0) {
            if (errno == EBUSY) fail(ErrorCode::conflict, "interface " + name + " already exists");
            fail_errno(errno, "creating a TUN interface (TUNSETIFF)");
        }
        // Who may attach without privileges: the point of a persistent TUN
        // made for another program.
        if (owner && ::ioctl(fd.get(), TUNSETOWNER, static_cast<unsigned long>(*owner)) < 0) {
            fail_errno(errno, "setting the TUN's owner (TUNSETOWNER)");
        }
        if (group && ::ioctl(fd.get(), TUNSETGROUP, static_cast<unsigned long>(*group)) < 0) {
            fail_errno(errno, "setting the TUN's group (TUNSETGROUP)");
        }
        TunInterface tun{request.ifr_name, address,  address6, owner, group, spec.mtu, spec.multi_queue,
                         spec.extra_addresses, spec.routes, spec.mark};
        // if_nametoindex would open and close a socket of its own each time.
        int index = ::ioctl(control_.get(), SIOCGIFINDEX, &request) == 0 ? request.ifr_ifindex : 0;
        if (index == 0) fail_errno(errno, "finding the new TUN " + tun.name);
        // Tagged while our descriptor still holds it: until TUNSETPERSIST the
        // TUN goes with the descriptor, and so with the daemon, so that no
        // crash can leave a persistent TUN without our tag, which nobody
        // would own (not listed, DELETE 404, its name taken for good).
        // The carrier goes off first, as it is once our descriptor closes:
        // a link brought up with a carrier starts IPv6 autoconfiguration
        // (a link-local address, its routes, DAD), about 40% of the kernel's
        // time per create, only to tear it down again as the descriptor
        // closes. It ends up persistent, up and without a carrier until a
        // program attaches. (Kernels before 5.0 lack TUNSETCARRIER; there
        // the autoconfiguration merely costs time.)
        int carrier = 0;
        ::ioctl(fd.get(), TUNSETCARRIER, &carrier);
        netlink_.tag_and_bring_up(index, tun_tag, spec.mtu);
        crash_point_for_tests("tagged");
        if (::ioctl(fd.get(), TUNSETPERSIST, 1) < 0) fail_errno(errno, "making the TUN persistent (TUNSETPERSIST)");
        crash_point_for_tests("persistent");
        fd.reset();
        std::vector<Rule> rules; // added, to be deleted again if the create fails
        try {
            kernel_->add_address(netlink_, index, {address, {}, 0});
            crash_point_for_tests("addressed");
            if (address6) kernel_->add_address(netlink_, index, {*address6, {}, 0});
            // The extras carry netd's mark, which tells them from the main
            // address when the kernel is read back.
            for (const auto& extra : spec.extra_addresses) kernel_->add_address(netlink_, index, {extra, {}, netd_protocol});
            // The rules before the routes: a crash in between leaves rules
            // without routes, which the next start sweeps, rather than routes
            // in a table no rule leads to, which would read back as no mark.
            if (spec.mark) rules = add_mark_rules(netlink_, *spec.mark, address6.has_value());
            crash_point_for_tests("ruled");
            for (const auto& route : spec.routes) {
                netlink_.add_route(index, route, spec.mark ? spec.mark->table : main_table);
            }
        } catch (...) {
            netlink_.discard_link(index);
            undo_mark_rules(netlink_, rules);
            throw;
        }
        return tun;
    }

    std::optional<std::string> next_name() override {
        return names_.pick([this](const std::string& n) { return kernel_->name_taken(n); });
    }

    std::uint64_t generation() override { return kernel_->generation(); }

    std::vector<TunInterface> list() override {
        const auto& links = kernel_->links();
        const auto& addresses = kernel_->addresses();
        std::map<int, std::vector<net::Cidr>> routes; // ours, by interface
        for (const auto& [_, route] : kernel_->routes()) {
            if (route.protocol == netd_protocol) routes[route.index].push_back(route.destination);
        }
        auto marks = marks_by_index(*kernel_);
        std::vector<TunInterface> out;
        for (const auto& [index, link] : links) {
            if (!is_ours(link)) continue;
            TunInterface tun{link.name, {}, {}, link.tun_owner, link.tun_group, link.mtu, link.tun_multi_queue};
            bool addressed = false;
            for (const auto* address : KernelMirror::addresses_of(addresses, index)) {
                if (address->proto == netd_protocol) {
                    tun.extra_addresses.push_back(address->address);
                } else if (address->address.family() == net::Family::v6) {
                    tun.address6 = address->address;
                } else {
                    tun.address = address->address;
                    addressed = true;
                }
            }
            // A TUN of ours without an address is one a crash left half-made;
            // it holds no block, so it is not listed.
            if (!addressed) continue;
            if (routes.contains(index)) tun.routes = routes[index];
            if (auto mark = marks.find(index); mark != marks.end()) tun.mark = mark->second;
            out.push_back(std::move(tun));
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        return out;
    }

    void remove(std::string_view name) override {
        auto link = kernel_->link(std::string(name));
        if (!link || !is_ours(*link)) {
            fail(ErrorCode::not_found, "no TUN named " + std::string(name) + " is managed by tun-daemon");
        }
        auto marks = marks_by_index(*kernel_);
        auto mark = marks.find(link->index);
        // RTM_DELLINK removes it even while some program holds it open, and
        // its routes with it. The rules go after it: should that fail, or
        // the daemon die in between, they are left without routes, and swept.
        netlink_.delete_link(link->index);
        names_.freed(link->name);
        if (mark != marks.end() && delete_mark_rules(*kernel_, netlink_, mark->second.table) > 0) {
            spdlog::warn("could not delete every rule of {}'s mark (table {}); the next start sweeps them", name,
                         mark->second.table);
        }
    }

    // TUNSETIFF on an existing TUN attaches to it, where the flags agree
    // with its own (IFF_MULTI_QUEUE must match); the daemon may, by
    // CAP_NET_ADMIN, whoever owns the TUN.
    // IFF_VNET_HDR is the TUN's, not the descriptor's: the kernel sets or
    // clears it at each attach, and the reader that asked for it turns on
    // the offloads (TUNSETOFFLOAD) itself.
    UniqueFd attach(std::string_view name, bool vnet_hdr) override {
        auto link = kernel_->link(std::string(name));
        if (!link || !is_ours(*link)) {
            fail(ErrorCode::not_found, "no TUN named " + std::string(name) + " is managed by tun-daemon");
        }
        auto fd = open_tun_device();
        ifreq request{};
        request.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | (link->tun_multi_queue ? IFF_MULTI_QUEUE : 0) |
                                               (vnet_hdr ? IFF_VNET_HDR : 0));
        std::strncpy(request.ifr_name, link->name.c_str(), IFNAMSIZ - 1);
        if (::ioctl(fd.get(), TUNSETIFF, &request) < 0) {
            if (errno == EBUSY) {
                fail(ErrorCode::conflict, link->name + " is open in another program already, and a TUN without "
                                                       "multi_queue takes one descriptor at a time");
            }
            fail_errno(errno, "opening the TUN " + link->name + " (TUNSETIFF)");
        }
        // Had the TUN gone since the mirror saw it, TUNSETIFF made a new one
        // of that name, which lives only with this descriptor: not ours to
        // hand out. Ours are persistent.
        if (::ioctl(fd.get(), TUNGETIFF, &request) < 0 || (request.ifr_flags & IFF_PERSIST) == 0) {
            fail(ErrorCode::not_found, "no TUN named " + std::string(name) + " is managed by tun-daemon");
        }
        return fd;
    }

private:
    static bool is_ours(const Link& link) { return link.kind == "tun" && link.alias == tun_tag; }

    void sweep_stale_rules() {
        for (const auto& rule : delete_stale_rules(*kernel_, netlink_)) {
            spdlog::warn("removed {}, a rule of ours whose TUN is gone (a crash, or the TUN deleted behind "
                         "tun-daemon's back)", rule);
        }
    }


    std::shared_ptr<KernelMirror> kernel_ = KernelMirror::shared();
    Netlink netlink_; // for changes; reads come from the mirror
    net::NamePicker names_{"tun"};
    UniqueFd control_{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)}; // for SIOCGIFINDEX
};

} // namespace

std::unique_ptr<TunBackend> make_tun_backend() { return std::make_unique<LinuxTunBackend>(); }

} // namespace netd::platform
