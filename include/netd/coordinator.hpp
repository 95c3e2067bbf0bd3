#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "netd/allocator.hpp"
#include "netd/error.hpp"
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

// Claims by block, indexed by range so that a candidate is checked in
// O(log n); kept current one claim at a time (by a watch, for etcd).
class ClaimView {
public:
    ClaimView() = default;
    explicit ClaimView(const std::vector<Claim>& claims);

    // Adds or replaces the claim on claim.block.
    void put(const Claim& claim);
    // Removes the claim on `block`, returning it; nullopt when there was none.
    std::optional<Claim> erase(const net::Cidr& block);
    // A claim whose block overlaps `range`, or nullptr.
    const Claim* find_overlap(const net::Cidr& range) const;
    const Claim* find(const net::Cidr& block) const;
    std::vector<Claim> claims() const;
    std::size_t size() const { return by_block_.size(); }

private:
    std::map<net::Cidr, Claim> by_block_;
    net::RangeSet blocks_;
};

// Who waits for a claim: one request, the same across its busy re-runs
// (http::Request::id), so that a re-run finds the claim its first run asked
// for rather than asking again.
using ClaimTicket = std::uint64_t;

// How a claim stands.
struct ClaimOutcome {
    enum class State {
        pending, // asked for; the coordinator has not heard back
        granted, // ours
        lost,    // an overlapping claim was there first
        failed,  // not decided: `error` says why (the coordinator is out of reach)
    };
    State state = State::pending;
    net::Cidr block;
    int attempt = 0;             // 0 for the first block a request tried, then 1, 2...
    std::optional<Claim> holder; // lost: the claim in the way, when known
    std::optional<Error> error;  // failed
};

class Coordinator {
public:
    virtual ~Coordinator() = default;

    // Every claim, as last heard: never waits for the coordinator, so it may
    // lag it by the time a change takes to arrive.
    virtual std::vector<Claim> claims() const = 0;
    // A claim that overlaps `range`, as last heard, this daemon's own
    // undecided ones included; nullopt when there is none.
    virtual std::optional<Claim> find_overlap(const net::Cidr& range) const = 0;
    // The claim of another node on a block overlapping `range` that etcd
    // dropped so recently (without that node letting go of it) that the node
    // may only have lost its lease, and be about to claim it again: nothing
    // takes such a block for one lease TTL. nullopt when there is none.
    virtual std::optional<Claim> recently_dropped(const net::Cidr&) const { return std::nullopt; }

    // Asks for `block` for `name`, on behalf of `ticket`. Never waits: the
    // outcome when it is known at once, else pending, and outcome(ticket)
    // tells later.
    virtual ClaimOutcome claim(ClaimTicket ticket, const net::Cidr& block, const std::string& name, int attempt) = 0;
    // The outcome of the claim `ticket` asked for, if it asked for one. Once
    // it is decided it is handed over, and forgotten: a granted block is
    // then the caller's, to use or to release().
    virtual std::optional<ClaimOutcome> outcome(ClaimTicket ticket) = 0;

    // Gives up this daemon's claim on `block` if it still holds it. Never
    // throws or waits: a claim left behind when the coordinator is out of
    // reach is removed by the next reconciliation.
    virtual void release(const net::Cidr& block) noexcept = 0;

    // Where this daemon starts looking for free blocks in the pool: daemons
    // that start far apart rarely race for the same block.
    virtual std::uint64_t spread() const { return 0; }
};

// One host on its own: nothing to agree with, every claim granted at once.
class LocalCoordinator final : public Coordinator {
public:
    std::vector<Claim> claims() const override { return {}; }
    std::optional<Claim> find_overlap(const net::Cidr&) const override { return std::nullopt; }
    ClaimOutcome claim(ClaimTicket, const net::Cidr& block, const std::string&, int attempt) override {
        return {ClaimOutcome::State::granted, block, attempt, {}, {}};
    }
    std::optional<ClaimOutcome> outcome(ClaimTicket) override { return std::nullopt; }
    void release(const net::Cidr&) noexcept override {}
};

// The LocalCoordinator that services use unless given another.
Coordinator& local_coordinator();

// A claim lost to another is tried again with another block this many times
// at most, across the re-runs of one request.
inline constexpr int max_claim_attempts = 20;

// How long to wait before the attempt-th try (1, 2, ...) of a claim, given
// `random` uniform in [0, 1): "full jitter" over an exponential backoff (5 ms
// doubling, at most 200 ms), so that hosts that lost a race to each other
// do not meet again at once.
std::chrono::milliseconds claim_retry_delay(int attempt, double random);

// Allocates a /prefix_len block of `allocator`'s pool that nothing on the
// host overlaps and no node has claimed, and claims it for `name` on behalf
// of `ticket`. While the claim is undecided, busy: nothing has changed but
// the block being held for it, and a re-run with the same ticket picks up
// the outcome. A block another node holds is skipped (and left marked used
// until the allocator's next resync); a claim lost to a concurrent one is
// tried again with another block.
net::Cidr allocate_claimed(Allocator& allocator, int prefix_len, HostNetwork& host,
                           const std::function<std::set<net::Cidr>()>& held_now, Coordinator& coordinator,
                           const std::string& name, ClaimTicket ticket = 0);

// Claims `range`, given by the client, for `name`: a conflict naming the node
// that holds an overlapping block; busy while undecided, as above. Ranges
// outside `pool` are no part of the shared plan and are not claimed.
void claim_given(Coordinator& coordinator, const net::Cidr& pool, const net::Cidr& range, const std::string& name,
                 ClaimTicket ticket = 0);

} // namespace netd
