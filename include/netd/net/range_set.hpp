#pragma once

#include <cstddef>
#include <map>
#include <optional>

#include "netd/net/ip.hpp"

namespace netd::net {

// A multiset of CIDR ranges that answers "does anything overlap this range?"
// in O(w log n), w the address width (33 or 129), kept current one insert or erase at a time. It relies on
// two CIDR ranges either nesting or being disjoint: a member overlaps `range`
// when it starts inside `range`, or when it is one of the at most w - 1 wider
// ranges that contain `range`.
class RangeSet {
public:
    void insert(const Cidr& range) { ++counts_[range]; }
    // Removes one copy of `range`; absent ones are ignored.
    void erase(const Cidr& range);
    void clear() { counts_.clear(); }
    std::size_t size() const { return counts_.size(); }

    // A member that overlaps `range`, or nullopt.
    std::optional<Cidr> find_overlap(const Cidr& range) const;

private:
    // Orders by (network, prefix length), and lets a bare address find the
    // first member starting at or after it.
    struct ByStart {
        using is_transparent = void;
        bool operator()(const Cidr& a, const Cidr& b) const { return a < b; }
        bool operator()(const Cidr& a, IpAddress b) const { return a.network() < b; }
        bool operator()(IpAddress a, const Cidr& b) const { return a < b.network(); }
    };
    std::map<Cidr, std::size_t, ByStart> counts_;
};

} // namespace netd::net
