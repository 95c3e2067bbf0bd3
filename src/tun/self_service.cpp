#include "netd/tun/self_service.hpp"

#include <string>

#include "netd/error.hpp"

namespace netd {
namespace {

[[noreturn]] void needs_admin(std::uint32_t uid, const std::string& what) {
    fail(ErrorCode::forbidden, what + " needs an admin: uid " + std::to_string(uid) +
                                   " may only create TUNs of its own in the pool (--self-service)");
}

} // namespace

void limit_to_owner(std::uint32_t uid, TunSpec& spec, const TunAddressing& addressing, const net::Cidr& pool,
                    std::size_t owned, std::size_t quota) {
    auto self = std::to_string(uid);
    if (spec.owner && *spec.owner != self) {
        fail(ErrorCode::forbidden, "uid " + self + " may only create TUNs it owns: leave \"owner\" out, or give " +
                                       self + ", not \"" + spec.owner->substr(0, 32) + "\"");
    }
    if (spec.group) needs_admin(uid, "\"group\"");
    if (!spec.routes.empty()) needs_admin(uid, "\"routes\"");
    if (spec.mark) needs_admin(uid, "\"mark\"");
    if (!spec.extra_addresses.empty()) needs_admin(uid, "\"extra_addresses\"");
    if (addressing.address && !pool.contains(addressing.address->network())) {
        needs_admin(uid, "an \"address\" outside the pool " + pool.to_string());
    }
    // The block an explicit address puts on the host counts as one asked
    // for: 10.0.0.1/8 is in the pool, and would take all of it.
    auto block = addressing.address ? addressing.address->network().prefix_len() : addressing.prefix_len;
    if (block < default_tun_prefix_len) {
        needs_admin(uid, "a block larger than /" + std::to_string(default_tun_prefix_len));
    }
    if (owned >= quota) {
        fail(ErrorCode::forbidden, "uid " + self + " already owns " + std::to_string(owned) +
                                       " TUNs, as many as --self-service-quota allows: delete one first");
    }
    spec.owner = self;
}

void check_owner(std::uint32_t uid, const TunInterface& tun) {
    if (tun.owner && *tun.owner == uid) return;
    fail(ErrorCode::forbidden, "uid " + std::to_string(uid) + " may only delete TUNs it owns; " + tun.name +
                                   (tun.owner ? " belongs to uid " + std::to_string(*tun.owner) : " has no owner"));
}

} // namespace netd
