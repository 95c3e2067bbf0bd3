#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netd/allocator.hpp"
#include "netd/backend.hpp"
#include "netd/coordinator.hpp"
#include "netd/intents.hpp"
#include "netd/listing_cache.hpp"

namespace netd {

inline constexpr int default_tun_prefix_len = 24;

// Where a new TUN's addresses come from.
struct TunAddressing {
    int prefix_len = default_tun_prefix_len; // the size of the block to allocate
    std::optional<net::InterfaceAddress> address{}; // given instead of allocated
    bool ipv6 = false; // a /64 of the IPv6 pool as well
};

// What tun-daemon does, free of HTTP and of the OS: each new TUN gets the
// next free block of the pool (a /24 unless asked otherwise) that nothing on
// the host overlaps, and that block's first host address, or the address
// the client gave; with IPv6 asked for, also the next free /64 of the IPv6
// pool and its first host.
//
// The kernel's view (the backend lists what carries our tag) is the truth:
// a TUN adopted after a restart keeps its block, and one deleted behind our
// back returns it at the next listing, or when the pool looks full. Callers
// run on one thread (the daemon's io_context); the service takes no locks.
class TunService {
public:
    static constexpr int block_prefix_len = default_tun_prefix_len;
    static constexpr int max_prefix_len = 30;   // the smallest block with hosts and a broadcast
    static constexpr int block6_prefix_len = 64; // what SLAAC and every IPv6 host expect of a link
    static constexpr int min_ipv6_mtu = 1280;    // RFC 8200's minimum link MTU
    static constexpr int pool6_prefix_len = 48;  // a unique local pool: RFC 4193's global id

    // `pool` is IPv4 and `pool6` IPv6; either is invalid otherwise. IPv4
    // blocks are claimed through `coordinator` (IPv6 ones come from a pool
    // of the host's own).
    TunService(TunBackend& backend, HostNetwork& host, Intents& intents, net::Cidr pool, net::Cidr pool6,
               Coordinator& coordinator = local_coordinator());

    // At start, before restore(): finishes or undoes the creates a crash
    // interrupted, and journals every TUN of ours the journal lacks
    // (reconcile_intents).
    std::vector<Restored> reconcile();

    // Recreates the TUNs that were asked for and are gone (after a reboot),
    // with their names, addresses and owners; forgets them instead when the
    // kernel has not restarted (see restore_intents).
    std::vector<Restored> restore(bool kernel_restarted = true);

    // Allocates a /prefix_len block, or takes `address` as given (checked
    // for overlap like the extra addresses and routes: 409). The create is
    // journaled before the kernel is asked and recorded as done after; when
    // the journal refuses either, nothing is kept (unavailable).
    // `ticket` is who waits for the IPv4 block's claim (see allocate_claimed):
    // busy while it is undecided.
    TunInterface create(const TunSpec& spec, const TunAddressing& addressing = {}, ClaimTicket ticket = 0);
    // The kernel's view, listed again only when the kernel has changed.
    const std::vector<TunInterface>& list();
    TunInterface get(const std::string& name);
    // Journaled first; when the kernel then refuses, the intent is put back.
    void remove(const std::string& name);

    // The unique local /48 that most of `tuns`' IPv6 addresses lie in: the
    // host's IPv6 pool, read back from the kernel when its file is lost.
    static std::optional<net::Cidr> pool6_in_use(const std::vector<TunInterface>& tuns);

    Allocator& allocator() { return allocator_; }
    Allocator& allocator6() { return allocator6_; }

private:
    static std::set<net::Cidr> held_by(const std::vector<TunInterface>& tuns);
    static std::set<net::Cidr> held6_by(const std::vector<TunInterface>& tuns);
    static void check_usable(const net::InterfaceAddress& address);
    void check_free(const std::vector<net::Cidr>& ranges, bool on_host = true);
    std::vector<TunInterface> sync();

    TunBackend& backend_;
    HostNetwork& host_;
    Intents& intents_;
    Allocator allocator_;
    Allocator allocator6_;
    Coordinator& coordinator_;
    ListingCache<TunInterface> listed_;
};

} // namespace netd
