#include "netd/occupant_index.hpp"

#include <algorithm>

namespace netd {

OccupantIndex::OccupantIndex(std::vector<Occupant> occupants) : occupants_(std::move(occupants)) {
    std::sort(occupants_.begin(), occupants_.end(),
              [](const Occupant& a, const Occupant& b) { return a.range < b.range; });
    reach_.reserve(occupants_.size());
    std::uint32_t reach = 0;
    for (const auto& occupant : occupants_) {
        reach = std::max(reach, occupant.range.last().value());
        reach_.push_back(reach);
    }
}

const Occupant* OccupantIndex::find_overlap(const net::Cidr& range) const {
    // Only occupants starting at or before the range's end can overlap it...
    auto starts_before_end = std::upper_bound(
        occupants_.begin(), occupants_.end(), range.last().value(),
        [](std::uint32_t last, const Occupant& occupant) { return last < occupant.range.first().value(); });
    auto candidates = static_cast<std::size_t>(starts_before_end - occupants_.begin());
    // ...and of those, the first whose reach gets to the range's start does.
    auto reaching = std::lower_bound(reach_.begin(), reach_.begin() + static_cast<std::ptrdiff_t>(candidates),
                                     range.first().value());
    if (reaching == reach_.begin() + static_cast<std::ptrdiff_t>(candidates)) return nullptr;
    return &occupants_[static_cast<std::size_t>(reaching - reach_.begin())];
}

} // namespace netd
