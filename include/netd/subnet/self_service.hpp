#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "netd/backend.hpp"
#include "netd/net/ip.hpp"
#include "netd/self_service.hpp"
#include "netd/subnet_service.hpp"

// --self-service on subnet-daemon: a user who is not an admin may create
// subnets of their own in the pool and delete them, within a quota. Pure
// rules, applied by the /subnet handlers to a request that only self-service
// let through (Request::limited_to).
namespace netd {

// Throws forbidden unless user `uid` may create the subnet asked for, `cidr`
// as given or else a block of `prefix_len` allocated from the pool, while
// already holding `held` subnets: only inside the pools (IPv4 --pool, IPv6
// --pool6; --allow-outside-pool is the admins'), no larger than the default
// block (policy.default_prefix_len; for IPv6, a /64, what one link gets),
// and fewer than `quota` held already. What the pool cannot have at all (a
// /31, a range in use) is the service's to refuse afterwards, as for anyone.
void limit_to_owner(std::uint32_t uid, const std::optional<net::Cidr>& cidr, int prefix_len,
                    const SubnetPolicy& policy, std::size_t held, std::size_t quota);

// Throws forbidden unless user `uid` created `subnet`, and may then delete it.
void check_owner(std::uint32_t uid, const Subnet& subnet);

} // namespace netd
