#pragma once

#include <functional>
#include <chrono>
#include <condition_variable>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "netd/claim_keys.hpp"
#include "netd/coordinator.hpp"
#include "netd/daemon/etcd_gateway.hpp"
#include "netd/http/metrics.hpp"

namespace netd {

struct EtcdSettings {
    std::vector<std::string> endpoints; // "HOST:PORT", tried in turn
    std::string node;                   // this host's id
    std::string daemon;                 // "tun-daemon"
    net::Cidr pool;
    std::chrono::seconds lease_ttl{30};
};

// The blocks a daemon holds now, as (block, name) pairs, read from the kernel.
using HeldBlocks = std::vector<std::pair<net::Cidr, std::string>>;

// Claims in etcd: each is a key of ClaimKeys' layout, whose value says who
// holds it, attached to this daemon's lease so that it goes away when the
// daemon has been gone for a TTL. A claim is a transaction that puts the key
// only if no key that could overlap it exists (ClaimKeys), so claims of
// disjoint blocks never conflict, and of two racing daemons one wins.
//
// Nothing here blocks the I/O thread. Three threads of its own talk to etcd:
// - the lease keeper keeps the lease alive at a third of its TTL, whatever
//   the requests do, and takes a new one when etcd has lost it;
// - the watcher keeps a view of every claim current through a watch, from
//   which allocation picks its candidates without asking etcd;
// - the worker runs the claims and releases the I/O thread queues (every
//   claim due at once in one transaction), and reconciles: after a new lease, a start, or etcd
//   being away, it claims again every block the daemon holds (one
//   transaction per block, comparing only that block's keys), until done.
// A request that needs a claim queues it and answers busy; its re-run (the
// HTTP session's timer, see Server::busy_patience) finds the outcome by its
// ticket. Until the worker has reconciled, claims wait behind it.
class EtcdCoordinator final : public Coordinator {
public:
    explicit EtcdCoordinator(EtcdSettings settings);
    ~EtcdCoordinator() override;
    EtcdCoordinator(const EtcdCoordinator&) = delete;
    EtcdCoordinator& operator=(const EtcdCoordinator&) = delete;

    // Starts the threads, once the daemon has dropped its privileges (a
    // thread starts with those of the thread that made it; these then give
    // up the rest), and waits for the
    // first reconciliation, up to `patience` or the first failure to reach
    // etcd: at start, waiting is allowed.
    void start(std::chrono::milliseconds patience);

    // Coordinator, for the I/O thread: none of these waits for etcd.
    std::vector<Claim> claims() const override;
    std::optional<Claim> find_overlap(const net::Cidr& range) const override;
    std::optional<Claim> recently_dropped(const net::Cidr& range) const override;
    ClaimOutcome claim(ClaimTicket ticket, const net::Cidr& block, const std::string& name, int attempt) override;
    std::optional<ClaimOutcome> outcome(ClaimTicket ticket) override;
    void release(const net::Cidr& block) noexcept override;
    std::uint64_t spread() const override;

    // What the daemon holds now, from the kernel, for reconciliation; also
    // gives back claims granted to requests that gave up waiting, and has
    // blocks reported lost checked again. Called at start and every third of
    // the lease, from the I/O thread.
    void track(const HeldBlocks& held);
    // Called (from the worker, under the lock: it must only post) each time
    // a claim is decided; empty for none.
    void on_decided(std::function<void()> callback);

    // What makes the daemon degraded: etcd out of reach, blocks lost.
    std::vector<std::string> problems() const;
    // For /metrics: claim transactions, races lost, leases lost, blocks lost.
    std::vector<http::Gauge> gauges() const;

    std::chrono::seconds lease_ttl() const { return settings_.lease_ttl; }

private:
    using Clock = std::chrono::steady_clock;

    // A key as read, beside the claim it holds.
    struct Stored {
        Claim claim;
        std::string mod_revision;
        std::string lease;
    };
    struct Job {
        enum class Kind { claim, release } kind;
        ClaimTicket ticket;
        net::Cidr block;
        std::string name;
        int attempt;
    };
    struct Waiting {
        ClaimOutcome outcome;
        std::string name;
        Clock::time_point touched; // when its request last asked
    };

    // On the coordinator's threads.
    void keep_lease_loop();
    void watch_loop();
    void work_loop();
    void keep_lease();
    std::string ensure_lease();
    void reconcile(const std::map<net::Cidr, std::string>& held);
    void settle_held(const net::Cidr& block, const std::string& name, std::map<net::Cidr, Stored>& keys,
                     const std::string& lease, std::vector<std::string>& lost);
    // The claims of `batch`, in one transaction: their outcomes, in order.
    std::vector<ClaimOutcome> run_claims(const std::vector<Job>& batch, const std::string& lease);
    // Whether `job` is still what its request waits for (under mutex_).
    bool pending_claim(const Job& job) const;
    void run_release(const net::Cidr& block);
    // Deletes our claim on `block` if still at `mod_revision`, marked released first.
    void release_at(const net::Cidr& block, const Claim& claim, const std::string& mod_revision,
                    const std::string& lease);
    void apply(const nlohmann::json& message);

    // etcd, through the gateway.
    std::map<net::Cidr, Stored> read_keys(const KeyRange& range, std::int64_t& revision,
                                          const std::string& prefix_of_v1 = "");
    std::optional<Claim> claim_of(const std::string& key, const std::string& value,
                                  const std::string& prefix_of_v1 = "") const;
    // Puts each block's key for its name if no overlapping key exists: per
    // block, granted, or the holder when one is known. One transaction for
    // all of them; their blocks must not overlap one another.
    struct ClaimRequest {
        net::Cidr block;
        std::string name;
    };
    struct ClaimAnswer {
        bool granted = false;
        std::optional<Claim> holder;
    };
    std::vector<ClaimAnswer> claim_txns(const std::vector<ClaimRequest>& requests, const std::string& created,
                                        const std::string& lease, std::int64_t* revision = nullptr);
    // One claim's compare, put and holder reads; its answer read back.
    nlohmann::json claim_ops(const net::Cidr& block, const std::string& name, const std::string& created,
                             const std::string& lease) const;
    ClaimAnswer claim_answer(const nlohmann::json& answer) const;
    // The claim etcd dropped (see recently_dropped) that overlaps `block`,
    // once the watch has seen every change before `revision`.
    std::optional<Claim> dropped_before(const net::Cidr& block, std::int64_t revision);
    // The key's new revision when it was put; `releasing` puts are not
    // claim transactions.
    std::optional<std::string> put_if_unchanged(const std::string& key, const std::string& mod_revision,
                                                const std::string& value, const std::string& lease,
                                                bool releasing = false);
    bool delete_if_unchanged(const std::string& key, const std::string& mod_revision);
    std::string value_of(const std::string& name, const std::string& created) const;
    bool ours(const Claim& claim) const;

    // Under mutex_.
    void lose_reconciliation();
    void out_of_reach(const std::string& why);
    std::map<net::Cidr, std::string> to_reconcile() const;

    EtcdSettings settings_;
    ClaimKeys keys_;
    EtcdGateway gateway_;

    mutable std::mutex mutex_;
    std::function<void()> on_decided_;
    std::condition_variable work_ready_, lease_check_, watch_pause_, settled_, watched_;
    std::int64_t watched_revision_ = 0; // the last revision the watch has seen
    bool stopping_ = false;
    bool check_lease_now_ = false;
    std::string lease_; // "" until granted
    std::mutex granting_; // one grant at a time
    bool reachable_ = true;
    std::string unreachable_because_;
    bool reconciled_ = false;
    bool reconcile_tried_ = false;
    std::uint64_t generation_ = 0; // raised whenever the claims must be reconciled again
    Clock::time_point reconcile_again_at_{};
    std::multimap<Clock::time_point, Job> jobs_; // by when they are due
    std::map<ClaimTicket, Waiting> waiting_;
    std::map<net::Cidr, std::string> held_;
    ClaimView view_;
    // Other nodes' claims that etcd dropped without their letting go, and when.
    mutable std::map<net::Cidr, std::pair<Claim, Clock::time_point>> dropped_;
    mutable net::RangeSet dropped_ranges_;
    // Claims whose holder marked them released, just before deleting them.
    std::set<net::Cidr> released_;
    std::vector<std::string> lost_;
    std::uint64_t transactions_ = 0, conflicts_ = 0, leases_lost_ = 0;

    std::vector<std::thread> threads_;

    // Claims sent in one transaction at most (etcd takes 128 operations in
    // a transaction's branch by default).
    static constexpr std::size_t max_batch = 64;
};

// "etcd=http://HOST:2379[,http://HOST2:2379]" into endpoints; invalid when it
// is not that.
std::vector<std::string> parse_etcd_endpoints(const std::string& flag);

} // namespace netd
