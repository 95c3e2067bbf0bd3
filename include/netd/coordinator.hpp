#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "netd/allocator.hpp"
#include "netd/net/ip.hpp"
#include "netd/net/range_set.hpp"

// Many hosts, one address plan: before a daemon uses a block of the pool it
// claims it where every host can see, so that no two hosts hand out the same
// one. The coordinator is that shared place; the default is none at all.
namespace netd {

// A block of the pool held by one daemon of one node.
struct Claim {
    net::Cidr block;
    std::string node;    // the host
    std::string daemon;  // "tun-daemon" or "subnet-daemon"
    std::string name;    // the interface or subnet it is for, as asked
    std::string created; // when, in RFC 3339

    friend bool operator==(const Claim&, const Claim&) = default;
};

// Every claim of the pool, as read at one revision, indexed by range so
// that allocation checks each candidate in O(log n).
class ClaimView {
public:
    ClaimView() = default;
    ClaimView(std::vector<Claim> claims, std::int64_t revision);

    const std::vector<Claim>& claims() const { return claims_; }
    std::int64_t revision() const { return revision_; }
    // A claim whose block overlaps `range`, or nullptr.
    const Claim* find_overlap(const net::Cidr& range) const;

private:
    std::vector<Claim> claims_;
    std::map<net::Cidr, std::size_t> by_block_; // index into claims_
    net::RangeSet blocks_;
    std::int64_t revision_ = 0;
};

class Coordinator {
public:
    virtual ~Coordinator() = default;

    // Every claim of the pool. Throws unavailable when the coordinator is out
    // of reach: nothing is allocated without a claim.
    virtual ClaimView read() = 0;

    // Claims `block` for this daemon, `name` being what it is for, unless a
    // claim of the pool changed since `view` was read: then false, and the
    // caller reads again. Throws unavailable like read().
    virtual bool claim(const ClaimView& view, const net::Cidr& block, const std::string& name) = 0;

    // Gives up this daemon's claim on `block` if it still holds it. Never
    // throws: a claim left behind when the coordinator is out of reach is
    // removed by the next reconciliation.
    virtual void release(const net::Cidr& block) noexcept = 0;
};

// One host on its own: nothing to agree with, every claim granted.
class LocalCoordinator final : public Coordinator {
public:
    ClaimView read() override { return {}; }
    bool claim(const ClaimView&, const net::Cidr&, const std::string&) override { return true; }
    void release(const net::Cidr&) noexcept override {}
};

// The LocalCoordinator that services use unless given another.
Coordinator& local_coordinator();

// Allocates a /prefix_len block of `allocator`'s pool that nothing on the
// host overlaps and no node has claimed, and claims it for `name`. A block
// another node holds is skipped (and left marked used until the allocator's
// next resync); a claim lost to a concurrent one is retried on a fresh read.
net::Cidr allocate_claimed(Allocator& allocator, int prefix_len, HostNetwork& host,
                           const std::function<std::set<net::Cidr>()>& held_now, Coordinator& coordinator,
                           const std::string& name);

// Claims `range`, given by the client, for `name`: a conflict naming the node
// that holds an overlapping block. Ranges outside `pool` are no part of the
// shared plan and are not claimed.
void claim_given(Coordinator& coordinator, const net::Cidr& pool, const net::Cidr& range, const std::string& name);

} // namespace netd
