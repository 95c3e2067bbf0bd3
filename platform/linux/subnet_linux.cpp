#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include <spdlog/spdlog.h>

#include "netd/net/name_picker.hpp"
#include "netd/platform/platform.hpp"
#include "kernel_mirror.hpp"
#include "netlink.hpp"

namespace netd::platform {
namespace {

// Subnets as a dummy interface each (netd0, netd1, ...) tagged with
// subnet_tag as alias, or, where the kernel has no dummy type, as addresses
// on lo labelled lo:N and tagged with netd_protocol in their IFA_PROTO (an
// address carries no alias; the kernel keeps and reports its protocol).
// IPv6 addresses take no label, so an IPv6 subnet on lo is on "lo".
// Listing and removal cover both kinds whatever the mode, since a restarted
// daemon may find either.
class LinuxSubnetBackend : public SubnetBackend {
public:
    explicit LinuxSubnetBackend(SubnetMode mode) : mode_(mode) {
        for (const auto& name : netlink_.delete_unaddressed_links("dummy", subnet_tag)) {
            spdlog::warn("removed {}, a dummy interface of ours left without an address by an earlier crash", name);
        }
    }

    Subnet add(const net::Cidr& network, const std::string& interface) override {
        auto address = net::InterfaceAddress::first_host_of(network);
        if (mode_ != SubnetMode::loopback) {
            try {
                return add_dummy(network, address, interface);
            } catch (const KernelError& error) {
                if (error.error_number() != EOPNOTSUPP) throw;
                if (mode_ == SubnetMode::dummy) {
                    fail(ErrorCode::unavailable,
                         "this kernel has no dummy interfaces (try modprobe dummy, or --backend loopback)");
                }
                spdlog::warn("the kernel has no dummy link type; subnets go on lo as labelled addresses (lo:N)");
                mode_ = SubnetMode::loopback;
            }
        }
        return add_loopback(network, address, interface);
    }

    std::uint64_t generation() override { return kernel_->generation(); }

    std::vector<Subnet> list() override {
        const auto& links = kernel_->links();
        const auto& addresses = kernel_->addresses();
        std::vector<Subnet> out;
        for (const auto& [_, address] : addresses) {
            auto link = links.find(address.index);
            if (link == links.end()) continue;
            if (is_our_dummy(link->second)) {
                out.push_back({address.address.network(), address.address, link->second.name});
            } else if (address.proto == netd_protocol && (link->second.flags & IFF_LOOPBACK)) {
                // On lo only: tun-daemon marks a TUN's extra addresses 0x4e too.
                auto interface = address.label.empty() ? link->second.name : address.label;
                out.push_back({address.address.network(), address.address, interface});
            }
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.network < b.network; });
        return out;
    }

    void remove(const net::Cidr& network) override {
        for (const auto& subnet : list()) {
            if (subnet.network != network) continue;
            auto device = subnet.interface.substr(0, subnet.interface.find(':'));
            auto link = kernel_->link(device);
            if (!link) break;
            if (is_our_dummy(*link)) {
                netlink_.delete_link(link->index);
                dummy_names_.freed(subnet.interface);
            } else {
                netlink_.delete_address(link->index, subnet.address);
                if (subnet.interface != device) loopback_labels_.freed(subnet.interface);
            }
            return;
        }
        fail(ErrorCode::not_found, "no subnet " + network.to_string() + " is managed by subnet-daemon");
    }

private:
    static bool is_our_dummy(const Link& link) { return link.kind == "dummy" && link.alias == subnet_tag; }

    Subnet add_dummy(const net::Cidr& network, const net::InterfaceAddress& address, const std::string& wanted) {
        auto name = dummy_names_.pick(taken(), wanted);
        netlink_.create_link(name, "dummy");
        auto link = kernel_->link(name);
        try {
            if (!link) fail(ErrorCode::internal, "the dummy interface " + name + " vanished after creation");
            netlink_.tag_and_bring_up(link->index, subnet_tag);
            kernel_->add_address(netlink_, link->index, {address, {}, 0});
        } catch (...) {
            // Never leave a link without its address behind.
            if (link) netlink_.discard_link(link->index);
            throw;
        }
        return {network, address, name};
    }

    Subnet add_loopback(const net::Cidr& network, const net::InterfaceAddress& address, const std::string& wanted) {
        auto loopback = kernel_->link("lo");
        if (!loopback) fail(ErrorCode::unavailable, "this host has no loopback interface");
        if (!(loopback->flags & IFF_UP)) netlink_.set_up(loopback->index);
        if (network.family() == net::Family::v6) {
            kernel_->add_address(netlink_, loopback->index, {address, {}, netd_protocol});
            return {network, address, loopback->name};
        }
        auto label = loopback_labels_.pick(taken(), wanted);
        kernel_->add_address(netlink_, loopback->index, {address, label, netd_protocol});
        return {network, address, label};
    }

    std::function<bool(const std::string&)> taken() {
        return [this](const std::string& name) { return kernel_->name_taken(name); };
    }

    SubnetMode mode_;
    net::NamePicker dummy_names_{"netd"};
    net::NamePicker loopback_labels_{"lo:"};
    std::shared_ptr<KernelMirror> kernel_ = KernelMirror::shared();
    Netlink netlink_; // for changes; reads come from the mirror
};

} // namespace

// Linux tags its own addresses and links, so it needs no intents to know them.
std::unique_ptr<SubnetBackend> make_subnet_backend(SubnetMode mode, const Intents&) {
    return std::make_unique<LinuxSubnetBackend>(mode);
}

} // namespace netd::platform
