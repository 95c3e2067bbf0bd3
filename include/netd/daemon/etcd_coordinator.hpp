#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "netd/coordinator.hpp"

namespace netd {

struct EtcdSettings {
    std::vector<std::string> endpoints; // "http://HOST:PORT", tried in turn
    std::string node;                   // this host's id
    std::string daemon;                 // "tun-daemon"
    net::Cidr pool;
    std::chrono::seconds lease_ttl{30};
};

// The blocks a daemon holds now, as (block, name) pairs, read from the kernel.
using HeldBlocks = std::vector<std::pair<net::Cidr, std::string>>;

// Claims in etcd, through its v3 JSON gateway (no gRPC stack): each is the
// key /netd/v1/<pool>/blocks/<cidr>, whose value says who holds it, attached
// to this daemon's lease so that it goes away when the daemon has been gone
// for a TTL. A claim is a transaction that puts the key only if no key of
// the pool changed since the claims were read (every key's mod_revision is
// below the read's revision + 1): blocks of different sizes that overlap are
// caught as surely as equal ones, and of two racing daemons one wins.
class EtcdCoordinator final : public Coordinator {
public:
    explicit EtcdCoordinator(EtcdSettings settings);

    ClaimView read() override;
    bool claim(const ClaimView& view, const net::Cidr& block, const std::string& name) override;
    void release(const net::Cidr& block) noexcept override;

    // Keeps the lease alive; whenever the lease is new (at start, or after
    // etcd lost it) or etcd is back after being out of reach, makes this
    // daemon's claims agree with `held`: missing ones are claimed, ours are
    // taken over under the current lease by compare-and-swap on their
    // revision, and ours that nothing holds any more are deleted. A held
    // block that another node claimed meanwhile is logged at ERROR and
    // reported by problems(). Never throws.
    void maintain(const HeldBlocks& held) noexcept;

    // What makes the daemon degraded: etcd out of reach, blocks lost.
    std::vector<std::string> problems() const;

    std::chrono::seconds lease_ttl() const { return settings_.lease_ttl; }

private:
    // The state of one key, beside the claim it holds.
    struct Stored {
        Claim claim;
        std::string mod_revision;
        std::string lease;
    };

    nlohmann::json post(const std::string& path, const nlohmann::json& body);
    // The keys from `key` up to `range_end` (just `key` when it is empty).
    std::map<std::string, Stored> read_keys(const std::string& key, const std::string& range_end,
                                            std::int64_t& revision);
    std::map<std::string, Stored> read_pool(std::int64_t& revision) { return read_keys(prefix_, range_end_, revision); }
    std::string key_of(const net::Cidr& block) const;
    std::string value_of(const std::string& name, const std::string& created) const;
    bool ours(const Claim& claim) const;
    // A transaction of `compare` then `success`; whether it succeeded.
    bool transact(const nlohmann::json& compare, const nlohmann::json& success);
    // Puts or deletes `key` only if it is still at `mod_revision`.
    bool put_if_unchanged(const std::string& key, const std::string& mod_revision, const std::string& value);
    bool delete_if_unchanged(const std::string& key, const std::string& mod_revision);
    void grant();
    bool keep_alive();
    void reconcile(const HeldBlocks& held);

    EtcdSettings settings_;
    std::string prefix_, range_end_;
    std::string lease_; // "" until granted
    bool reachable_ = true;
    bool reconciled_ = false;
    std::vector<std::string> lost_;
};

// "etcd=http://HOST:2379[,http://HOST2:2379]" into endpoints; invalid when it
// is not that.
std::vector<std::string> parse_etcd_endpoints(const std::string& flag);

} // namespace netd
