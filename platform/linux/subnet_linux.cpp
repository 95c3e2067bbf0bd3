#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <optional>

#include <spdlog/spdlog.h>

#include "netd/platform.hpp"
#include "kernel_mirror.hpp"
#include "netlink.hpp"

namespace netd::platform {
namespace {

// Addresses carry no alias, so loopback subnets are tagged through the
// address's protocol field (IFA_PROTO), which the kernel keeps and reports
// back. 0x4e ('N') is outside the values the kernel itself uses (0 to 3).
constexpr std::uint8_t netd_ifa_proto = 0x4e;

// Hands out "<prefix><N>" names: `wanted` when it is of that form and free,
// else the lowest free N. The search starts at a hint, the lowest N that may
// be free as far as this daemon's own adds and removes tell, so that the
// 10,000th name costs no scan of the 9,999 before it. A name that someone
// else frees is skipped until the next restart, which starts from 0 again.
class NamePicker {
public:
    explicit NamePicker(std::string prefix) : prefix_(std::move(prefix)) {}

    std::string pick(const std::function<bool(const std::string&)>& taken, const std::string& wanted) {
        if (number_of(wanted) && !taken(wanted)) return wanted;
        for (auto n = hint_;; ++n) {
            auto name = prefix_ + std::to_string(n);
            if (taken(name)) continue;
            hint_ = n + 1;
            return name;
        }
    }

    void freed(const std::string& name) {
        if (auto n = number_of(name)) hint_ = std::min(hint_, *n);
    }

private:
    std::optional<unsigned> number_of(const std::string& name) const {
        if (name.size() <= prefix_.size() || name.size() > prefix_.size() + 6 || name.rfind(prefix_, 0) != 0 ||
            name.find_first_not_of("0123456789", prefix_.size()) != std::string::npos) {
            return std::nullopt;
        }
        return static_cast<unsigned>(std::stoul(name.substr(prefix_.size())));
    }

    std::string prefix_;
    unsigned hint_ = 0;
};

// Subnets as a dummy interface each (netd0, netd1, ...) tagged with
// subnet_tag as alias, or, where the kernel has no dummy type, as addresses
// on lo labelled lo:N and tagged with netd_ifa_proto. Listing and removal
// cover both kinds whatever the mode, since a restarted daemon may find either.
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
            } else if (address.proto == netd_ifa_proto) {
                out.push_back({address.address.network(), address.address, address.label});
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
                loopback_labels_.freed(subnet.interface);
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
            netlink_.add_address(link->index, {address, {}, 0});
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
        auto label = loopback_labels_.pick(taken(), wanted);
        netlink_.add_address(loopback->index, {address, label, netd_ifa_proto});
        return {network, address, label};
    }

    std::function<bool(const std::string&)> taken() {
        return [this](const std::string& name) { return kernel_->name_taken(name); };
    }

    SubnetMode mode_;
    NamePicker dummy_names_{"netd"};
    NamePicker loopback_labels_{"lo:"};
    std::shared_ptr<KernelMirror> kernel_ = KernelMirror::shared();
    Netlink netlink_; // for changes; reads come from the mirror
};

} // namespace

std::unique_ptr<SubnetBackend> make_subnet_backend(SubnetMode mode) {
    return std::make_unique<LinuxSubnetBackend>(mode);
}

} // namespace netd::platform
