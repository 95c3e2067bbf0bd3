#pragma once

#include <cstdint>
#include <vector>

#include "netd/backend.hpp"

namespace netd {

// The host's occupants, indexed to answer "what overlaps this range?" in
// O(log n), which keeps allocation cheap with thousands of routes present.
class OccupantIndex {
public:
    explicit OccupantIndex(std::vector<Occupant> occupants);

    // An occupant that overlaps `range`, or nullptr.
    const Occupant* find_overlap(const net::Cidr& range) const;

private:
    std::vector<Occupant> occupants_; // sorted by first address
    // reach_[i]: the highest last address among occupants_[0..i]. It never
    // decreases, so the first occupant reaching into a range is a binary
    // search away, even when ranges nest.
    std::vector<std::uint32_t> reach_;
};

} // namespace netd
