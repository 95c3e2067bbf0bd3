#pragma once

#include <cstddef>
#include <cstdint>

#include "netd/backend.hpp"
#include "netd/net/ip.hpp"
#include "netd/self_service.hpp"
#include "netd/tun_service.hpp"

// --self-service: a user who is not an admin may create TUNs of their own
// and delete them, within a quota. Pure rules, applied by the /tun handlers
// to a request that only self-service let through (Request::limited_to).
namespace netd {

// Throws forbidden unless user `uid` may create the TUN `spec` with
// `addressing` while already owning `owned` TUNs: its owner must be `uid`
// (filled in when not given); no group, routes or extra addresses (they
// reach beyond the TUN, and a route to 8.8.8.8/32 that only the default
// route covers overlaps nothing on the host, so only this rule stops it);
// an explicit address only inside `pool`; a block no larger than the
// default /24, allocated or given (an "address" of 10.0.0.1/8 would route
// the whole pool to the TUN); and fewer than `quota` TUNs owned already.
void limit_to_owner(std::uint32_t uid, TunSpec& spec, const TunAddressing& addressing, const net::Cidr& pool,
                    std::size_t owned, std::size_t quota);

// Throws forbidden unless `tun` belongs to user `uid`, who may then delete it.
void check_owner(std::uint32_t uid, const TunInterface& tun);

} // namespace netd
