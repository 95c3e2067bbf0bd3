#include "netd/subnet/self_service.hpp"

#include <string>

#include "netd/error.hpp"

namespace netd {
namespace {

// IPv6 subnets are only ever given, never allocated: a /64 is the size
// every IPv6 host expects of a link, and so the most a user may take.
constexpr int largest_self_service_prefix6_len = 64;

[[noreturn]] void needs_admin(std::uint32_t uid, const std::string& what) {
    fail(ErrorCode::forbidden, what + " needs an admin: uid " + std::to_string(uid) +
                                   " may only create subnets of its own in the pool (--self-service)");
}

} // namespace

void limit_to_owner(std::uint32_t uid, const std::optional<net::Cidr>& cidr, int prefix_len,
                    const SubnetPolicy& policy, std::size_t held, std::size_t quota) {
    int largest = policy.default_prefix_len;
    if (cidr) {
        bool v4 = cidr->family() == net::Family::v4;
        const auto& pool = v4 ? policy.pool : policy.pool6;
        if (!pool.contains(*cidr)) needs_admin(uid, "a \"cidr\" outside the pool " + pool.to_string());
        if (!v4) largest = largest_self_service_prefix6_len;
        prefix_len = cidr->prefix_len();
    }
    if (prefix_len < largest) {
        needs_admin(uid, std::string(cidr && cidr->family() == net::Family::v6 ? "an IPv6 subnet" : "a subnet") +
                             " larger than /" + std::to_string(largest));
    }
    if (held >= quota) {
        fail(ErrorCode::forbidden, "uid " + std::to_string(uid) + " already holds " + std::to_string(held) +
                                       " subnets, as many as --self-service-quota allows: delete one first");
    }
}

void check_owner(std::uint32_t uid, const Subnet& subnet) {
    if (subnet.owner && *subnet.owner == uid) return;
    auto network = subnet.network.to_string();
    fail(ErrorCode::forbidden, "uid " + std::to_string(uid) + " may only delete subnets it created; " + network +
                                   (subnet.owner ? " belongs to uid " + std::to_string(*subnet.owner)
                                                 : " has no owner, so only an admin may delete it"));
}

} // namespace netd
