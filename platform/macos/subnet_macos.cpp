#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sockio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "interfaces_macos.hpp"
#include "kernel_error.hpp"
#include "macos_rules.hpp"
#include "netd/platform/platform.hpp"
#include "unique_fd.hpp"

namespace netd::platform {
namespace {

constexpr const char* loopback = "lo0";

// Subnets as aliases on lo0: the first host address of each, with its
// netmask. macOS keeps no label or tag on an address, so the daemon's own
// are those its saved intents name; any other lo0 address is never touched.
// Each is reported as lo0:N, N its index among the daemon's subnets.
class MacSubnetBackend : public SubnetBackend {
public:
    explicit MacSubnetBackend(const Intents& intents) : intents_(intents) {}

    Subnet add(const net::Cidr& network, const std::string&) override {
        if (network.family() != net::Family::v4) fail(ErrorCode::invalid, "IPv6 subnets are not supported on macOS yet");
        auto address = net::InterfaceAddress::first_host_of(network);
        // SIOCAIFADDR would take an address held already without a word,
        // and the daemon would then count another's alias as its own.
        macos::check_address_free(ipv4_addresses(), address);
        auto request = macos::alias_request(loopback, address);
        ifaliasreq alias{};
        static_assert(sizeof alias == sizeof request, "macos::AliasRequest must mirror struct ifaliasreq");
        std::memcpy(&alias, &request, sizeof alias);
        if (::ioctl(control_.get(), SIOCAIFADDR, &alias) < 0) {
            fail_errno(errno, "adding " + address.to_string() + " to lo0 (SIOCAIFADDR)");
        }
        // The service journaled the add as begun before this, so list()
        // already counts it as ours; counted in here all the same, once.
        auto networks = our_networks();
        if (std::find(networks.begin(), networks.end(), network) == networks.end()) networks.push_back(network);
        return {network, address, macos::lo0_labels(networks).at(network)};
    }

    std::vector<Subnet> list() override {
        std::vector<Subnet> ours;
        for (const auto& entry : ipv4_addresses()) {
            auto network = entry.address.network();
            // A create begun counts too: it is ours from the moment it is
            // journaled, so that a start after a crash completes it.
            auto key = network.to_string();
            if (entry.interface == loopback && entry.address == net::InterfaceAddress::first_host_of(network) &&
                (intents_.records().contains(key) || intents_.pending().contains(key))) {
                ours.push_back({network, entry.address, ""});
            }
        }
        std::vector<net::Cidr> networks;
        for (const auto& subnet : ours) networks.push_back(subnet.network);
        auto labels = macos::lo0_labels(networks);
        for (auto& subnet : ours) subnet.interface = labels.at(subnet.network);
        std::sort(ours.begin(), ours.end(), [](const auto& a, const auto& b) { return a.network < b.network; });
        return ours;
    }

    // No change feed is read on macOS: every listing is read afresh.
    std::uint64_t generation() override { return ++listings_; }

    // The service has checked that the subnet is ours and journaled its
    // removal first (or is undoing an add it could not journal), so its
    // intent may be gone already: the address is looked for on lo0 itself.
    void remove(const net::Cidr& network) override {
        auto address = net::InterfaceAddress::first_host_of(network);
        for (const auto& entry : ipv4_addresses()) {
            if (entry.interface != loopback || entry.address != address) continue;
            // SIOCDIFADDR takes an ifreq whose address is the one to remove.
            auto request = macos::alias_request(loopback, address);
            ifreq interface{};
            std::strncpy(interface.ifr_name, loopback, IFNAMSIZ - 1);
            static_assert(sizeof interface.ifr_addr == sizeof request.address);
            std::memcpy(&interface.ifr_addr, &request.address, sizeof request.address);
            if (::ioctl(control_.get(), SIOCDIFADDR, &interface) < 0) {
                fail_errno(errno, "removing " + address.to_string() + " from lo0 (SIOCDIFADDR)");
            }
            return;
        }
        fail(ErrorCode::not_found, "no subnet " + network.to_string() + " is managed by subnet-daemon");
    }

private:
    std::vector<net::Cidr> our_networks() {
        std::vector<net::Cidr> networks;
        for (const auto& subnet : list()) networks.push_back(subnet.network);
        return networks;
    }

    const Intents& intents_;
    UniqueFd control_{open_inet_control_socket()};
    std::uint64_t listings_ = 0;
};

} // namespace

std::unique_ptr<SubnetBackend> make_subnet_backend(SubnetMode mode, const Intents& intents) {
    if (mode == SubnetMode::dummy) {
        fail(ErrorCode::unavailable, "macOS has no dummy interfaces; subnets go on lo0 (--backend auto or loopback)");
    }
    return std::make_unique<MacSubnetBackend>(intents);
}

} // namespace netd::platform
