#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "netd/allocator.hpp"
#include "netd/backend.hpp"
#include "netd/coordinator.hpp"
#include "netd/intents.hpp"
#include "netd/listing_cache.hpp"

namespace netd {

struct SubnetPolicy {
    net::Cidr pool;
    // Where IPv6 subnets may be: by default every unique local one (RFC 4193).
    net::Cidr pool6 = net::Cidr::parse("fd00::/8");
    bool allow_outside_pool = false;
    // A /31 or /32 has no room for a network with a first host to configure;
    // anything wider than a /8 is a mistake rather than a subnet. IPv6 draws
    // the same lines at its own scale.
    int min_prefix_len = 8;
    int max_prefix_len = 30;
    int default_prefix_len = 24;
    int min_prefix6_len = 16;
    int max_prefix6_len = 126;
};

// What subnet-daemon does, free of HTTP and of the OS: a subnet asked for by
// CIDR, IPv4 or IPv6, is checked against its family's pool and everything on
// the host; one asked for by size is allocated from the IPv4 pool. Like TunService, each call starts from
// the kernel's view and runs on one thread.
class SubnetService {
public:
    // IPv4 subnets are claimed through `coordinator`.
    SubnetService(SubnetBackend& backend, HostNetwork& host, Intents& intents, SubnetPolicy policy,
                  Coordinator& coordinator = local_coordinator());

    // At start, before restore(): finishes or undoes the adds a crash
    // interrupted, and journals every subnet of ours the journal lacks.
    std::vector<Restored> reconcile();

    // Recreates the subnets that were asked for and are gone (after a
    // reboot); forgets them instead when the kernel has not restarted (see
    // restore_intents).
    std::vector<Restored> restore(bool kernel_restarted = true);

    // Both journal the subnet before the kernel hears of it and record it
    // done after; when the journal refuses either, nothing is kept
    // (unavailable). remove() journals first and puts the intent back when
    // the kernel refuses. `owner`, the user a self-service create is for,
    // goes into the subnet's intent, the one place that can hold it (see
    // Subnet::owner). `ticket` is who waits for an IPv4 claim (see
    // allocate_claimed): busy while it is undecided.
    Subnet add(const net::Cidr& network, std::optional<std::uint32_t> owner = {}, ClaimTicket ticket = 0);
    Subnet allocate(int prefix_len, std::optional<std::uint32_t> owner = {}, ClaimTicket ticket = 0);
    // The kernel's view, each subnet with its owner from the journal; listed
    // again only when the kernel has changed (the journal changes only
    // along with it: an owner is journaled before the kernel adds the subnet).
    const std::vector<Subnet>& list();
    Subnet get(const net::Cidr& network);
    void remove(const net::Cidr& network);

    const SubnetPolicy& policy() const { return policy_; }
    Allocator& allocator() { return allocator_; }

private:
    static std::set<net::Cidr> held_by(const std::vector<Subnet>& subnets);
    std::vector<Subnet> sync();
    std::optional<std::uint32_t> owner_of(const net::Cidr& network) const;
    Subnet add_journaled(const net::Cidr& network, std::optional<std::uint32_t> owner);
    void check_prefix_len(const net::Cidr& network) const;

    SubnetBackend& backend_;
    HostNetwork& host_;
    Intents& intents_;
    SubnetPolicy policy_;
    Allocator allocator_;
    Coordinator& coordinator_;
    ListingCache<Subnet> listed_;
};

} // namespace netd
