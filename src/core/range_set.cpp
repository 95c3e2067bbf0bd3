#include "netd/net/range_set.hpp"

namespace netd::net {

void RangeSet::erase(const Cidr& range) {
    auto it = counts_.find(range);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
}

std::optional<Cidr> RangeSet::find_overlap(const Cidr& range) const {
    // Members are ordered by first address, so the first one starting at or
    // after range's start is inside range if any member is.
    auto inside = counts_.lower_bound(range.first());
    if (inside != counts_.end() && inside->first.first() <= range.last()) return inside->first;
    for (int prefix_len = 0; prefix_len < range.prefix_len(); ++prefix_len) {
        auto wider = Cidr::containing(range.first(), prefix_len);
        if (counts_.contains(wider)) return wider;
    }
    return std::nullopt;
}

} // namespace netd::net
