#pragma once

#include <cstddef>

// --self-service and --self-service-quota, as both daemons take them: users
// who are not admins may create TUNs (tun-daemon) or subnets (subnet-daemon)
// of their own, up to a quota, and delete those. The rules themselves are in
// tun/self_service.hpp and subnet/self_service.hpp.
namespace netd {

struct SelfService {
    bool enabled = false;
    // What one uid may hold at once: small, since each one takes address
    // space (a /24 by default) that others then cannot have.
    std::size_t quota = 4;
};

} // namespace netd
