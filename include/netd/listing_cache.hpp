#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace netd {

// A service's last listing of its interfaces, kept until the backend's
// generation says the kernel has changed.
template <typename Item>
class ListingCache {
public:
    const std::vector<Item>& get(std::uint64_t generation, const std::function<std::vector<Item>()>& relist) {
        if (!listed_ || listed_->first != generation) listed_.emplace(generation, relist());
        return listed_->second;
    }

private:
    std::optional<std::pair<std::uint64_t, std::vector<Item>>> listed_;
};

} // namespace netd
