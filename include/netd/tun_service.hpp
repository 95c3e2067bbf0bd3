#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netd/allocator.hpp"
#include "netd/backend.hpp"
#include "netd/intents.hpp"
#include "netd/listing_cache.hpp"

namespace netd {

// What tun-daemon does, free of HTTP and of the OS: each new TUN gets the
// next free /24 of the pool that nothing on the host overlaps, and that
// block's first host address.
//
// The kernel's view (the backend lists what carries our tag) is the truth:
// a TUN adopted after a restart keeps its block, and one deleted behind our
// back returns it at the next listing, or when the pool looks full. Callers run on one thread (the daemon's
// io_context); the service takes no locks.
class TunService {
public:
    static constexpr int block_prefix_len = 24; // the default
    static constexpr int max_prefix_len = 30;   // the smallest block with hosts and a broadcast

    TunService(TunBackend& backend, HostNetwork& host, Intents& intents, net::Cidr pool);

    // Recreates the TUNs that were asked for and are gone (after a reboot),
    // with their names, addresses and owners.
    std::vector<Restored> restore();

    TunInterface create(const TunSpec& spec, int prefix_len = block_prefix_len);
    // The kernel's view, listed again only when the kernel has changed.
    const std::vector<TunInterface>& list();
    TunInterface get(const std::string& name);
    void remove(const std::string& name);

    Allocator& allocator() { return allocator_; }

private:
    static std::set<net::Cidr> held_by(const std::vector<TunInterface>& tuns);
    std::vector<TunInterface> sync();

    TunBackend& backend_;
    HostNetwork& host_;
    Intents& intents_;
    Allocator allocator_;
    ListingCache<TunInterface> listed_;
};

} // namespace netd
