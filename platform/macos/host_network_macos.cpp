#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/sysctl.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "file_lock.hpp"
#include "interfaces_macos.hpp"
#include "kernel_error.hpp"
#include "macos_rules.hpp"
#include "netd/net/range_set.hpp"
#include "netd/platform/platform.hpp"

namespace netd::platform {
namespace {

std::string interface_name(unsigned index) {
    char name[IF_NAMESIZE] = {};
    return ::if_indextoname(index, name) ? name : "no interface";
}

// The routes of the IPv4 routing table (sysctl NET_RT_DUMP), but the
// default-like /0 and /1, which VPNs use to capture all traffic and which
// would otherwise fill any pool, and the clones (see route_occupies).
std::vector<Occupant> routes() {
    int request[] = {CTL_NET, PF_ROUTE, 0, AF_INET, NET_RT_DUMP, 0};
    std::size_t size = 0;
    if (::sysctl(request, 6, nullptr, &size, nullptr, 0) != 0) fail_errno(errno, "sizing the routing table");
    std::vector<char> table(size);
    if (::sysctl(request, 6, table.data(), &size, nullptr, 0) != 0) fail_errno(errno, "reading the routing table");

    std::vector<Occupant> out;
    for (std::size_t offset = 0; offset + sizeof(rt_msghdr) <= size;) {
        const auto* message = reinterpret_cast<const rt_msghdr*>(table.data() + offset);
        if (message->rtm_msglen == 0) break;
        offset += message->rtm_msglen;
        // The sockaddrs that follow are those rtm_addrs names, in RTAX_
        // order, each padded to a multiple of 4 bytes (0 bytes count as 4).
        const sockaddr* slots[RTAX_MAX] = {};
        const auto* cursor = reinterpret_cast<const char*>(message + 1);
        for (int slot = 0; slot < RTAX_MAX; ++slot) {
            if (!(message->rtm_addrs & (1 << slot))) continue;
            const auto* address = reinterpret_cast<const sockaddr*>(cursor);
            slots[slot] = address;
            cursor += address->sa_len == 0 ? 4 : (address->sa_len + 3) & ~3;
        }
        const auto* destination = slots[RTAX_DST];
        if (!destination || destination->sa_family != AF_INET) continue;
        int prefix_len = 32;
        if (!(message->rtm_flags & RTF_HOST)) prefix_len = slots[RTAX_NETMASK] ? prefix_len_of(ipv4_of(slots[RTAX_NETMASK])) : 32;
        if (!macos::route_occupies(prefix_len, static_cast<std::uint32_t>(message->rtm_flags))) continue;
        auto range = net::Cidr::containing(ipv4_of(destination), prefix_len);
        out.push_back({range, "the route " + range.to_string() + " on " + interface_name(message->rtm_index)});
    }
    return out;
}

std::optional<Occupant> first_overlap(const std::vector<Occupant>& occupants, const net::Cidr& range) {
    for (const auto& occupant : occupants) {
        if (occupant.range.overlaps(range)) return occupant;
    }
    return std::nullopt;
}

std::vector<Occupant> read_occupants() {
    std::vector<Occupant> out;
    for (const auto& entry : ipv4_addresses()) {
        out.push_back({entry.address.network(), "the address " + entry.address.to_string() + " on " + entry.interface});
    }
    auto table = routes();
    out.insert(out.end(), table.begin(), table.end());
    return out;
}

// macOS has no change feed this daemon reads, so the host is read afresh:
// once when the allocation lock is taken, for every question asked under
// it, and at each question otherwise.
class MacHostNetwork : public HostNetwork {
public:
    explicit MacHostNetwork(const std::string& lock_file) : lock_(lock_file) {}

    void lock() override {
        lock_.lock();
        try {
            snapshot_ = read_occupants();
        } catch (...) {
            lock_.unlock();
            throw;
        }
        for (const auto& occupant : *snapshot_) ranges_.insert(occupant.range);
    }

    void unlock() override {
        snapshot_.reset();
        ranges_.clear();
        lock_.unlock();
    }

    bool overlaps(const net::Cidr& range) override {
        if (snapshot_) return ranges_.find_overlap(range).has_value();
        return find_overlap(range).has_value();
    }

    std::optional<Occupant> find_overlap(const net::Cidr& range) override {
        return snapshot_ ? first_overlap(*snapshot_, range) : first_overlap(read_occupants(), range);
    }

private:
    FileLock lock_;
    std::optional<std::vector<Occupant>> snapshot_;
    net::RangeSet ranges_;
};

} // namespace

std::unique_ptr<HostNetwork> make_host_network(const std::string& lock_file) {
    return std::make_unique<MacHostNetwork>(lock_file);
}

} // namespace netd::platform
