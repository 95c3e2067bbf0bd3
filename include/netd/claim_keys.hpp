#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netd/net/ip.hpp"

// Where the claims of a shared IPv4 pool live in etcd, laid out so that a
// claim compares only the keys that can overlap it (as Flannel keeps a key
// per subnet and Calico IPAM a key per block):
//
//   /netd/v2/<pool>/blocks/<address as 8 hex digits>/<prefix length, 2 digits>
//   /netd/v2/10.0.0.0/8/blocks/0a000100/24   is 10.0.1.0/24
//
// The address comes first and has a fixed width, so etcd's byte order sorts
// keys by address: every block whose first address lies inside a block B
// (B itself, the blocks inside B, and the wider ones that start where B
// does) falls in one key range, [B's first address, B's last address + 1).
// What else can overlap B contains it and starts before it: one key per
// shorter prefix length, at most 31. So two claims compare disjoint sets of
// keys unless their blocks overlap, and never conflict otherwise.
//
// v1 keyed blocks by their text ("10.0.1.0/24"), which sorts by nothing
// useful; v2 is a new prefix, and a daemon moves its own v1 claims over when
// it reconciles (EtcdCoordinator).
namespace netd {

// A range of keys as etcd takes them: [key, range_end).
struct KeyRange {
    std::string key;
    std::string range_end;

    friend bool operator==(const KeyRange&, const KeyRange&) = default;
};

class ClaimKeys {
public:
    // `pool` names the plan; blocks of any prefix length may be keyed.
    explicit ClaimKeys(const net::Cidr& pool);

    // Every claim of the plan.
    KeyRange all() const;
    std::string key_of(const net::Cidr& block) const;
    // The block a key of this layout stands for; nullopt for anything else.
    std::optional<net::Cidr> block_of(const std::string& key) const;

    // The keys of the blocks that start inside `block` (itself included).
    KeyRange starting_inside(const net::Cidr& block) const;
    // The keys of the blocks that contain `block` and start before it.
    std::vector<std::string> containing(const net::Cidr& block) const;

    // The v1 prefix, whose keys are moved over (see above).
    const std::string& v1_prefix() const { return v1_prefix_; }

private:
    std::string hex_of(std::uint32_t address) const;

    std::string prefix_;
    std::string v1_prefix_;
};

// The end of a prefix's range in etcd's order: the prefix with its last
// byte raised by one.
std::string range_end_of(std::string prefix);

} // namespace netd
