#include "netd/tun/routes.hpp"

#include <algorithm>

#include "netd/error.hpp"
#include "netd/http/json_body.hpp"
#include "netd/http/rendered_list.hpp"
#include "netd/tun_mark.hpp"

namespace netd {

using http::Request;
using http::Response;
using http::status;
using http::verb;

namespace {

// IPv4's minimum datagram (RFC 791) and the largest a length field holds.
constexpr int min_mtu = 68, max_mtu = 65535;

} // namespace

nlohmann::json to_json(const TunInterface& tun) {
    auto network = tun.address.network();
    nlohmann::json out{
        {"name", tun.name},
        {"ip_addr", tun.address.address().to_string()},
        {"netmask", network.netmask().to_string()},
        {"broadcast", network.broadcast().to_string()},
        {"prefix_len", network.prefix_len()},
        {"mtu", tun.mtu},
        {"routes", net::to_strings(tun.routes)},
        {"ipv6", tun.address6.has_value()},
    };
    if (tun.address6) {
        out["ip6_addr"] = tun.address6->address().to_string();
        out["prefix6"] = tun.address6->network().to_string();
    }
    if (!tun.extra_addresses.empty()) out["extra_addresses"] = net::to_strings(tun.extra_addresses);
    if (tun.owner) out["owner"] = *tun.owner;
    if (tun.group) out["group"] = *tun.group;
    if (tun.multi_queue) out["multi_queue"] = true;
    if (tun.mark) out["mark"] = to_json(*tun.mark);
    return out;
}

std::vector<http::Gauge> tun_gauges(TunService& service) {
    return {{"netd_managed_interfaces", "TUN interfaces managed by this daemon.",
             static_cast<double>(service.list().size())},
            {"netd_pool_free_blocks", "Free /24 blocks in the pool.",
             static_cast<double>(service.allocator().free_blocks(TunService::block_prefix_len))},
            {"netd_pool6_free_blocks", "Free /64 blocks in the IPv6 pool.",
             static_cast<double>(service.allocator6().free_blocks(TunService::block6_prefix_len))}};
}

void add_tun_routes(http::Router& router, TunService& service, SelfService self_service) {
    router.add(verb::post, "/tun", [&service, self_service](const Request& request) {
        http::JsonBody body(request.body, {"name", "owner", "group", "mtu", "prefix_len", "multi_queue", "address",
                                           "extra_addresses", "routes", "ipv6", "mark"});
        TunSpec spec{body.string("name"),
                     body.id("owner"),
                     body.id("group"),
                     body.integer("mtu", min_mtu, max_mtu).value_or(default_tun_mtu),
                     body.boolean("multi_queue").value_or(false),
                     net::parse_all<net::InterfaceAddress>(body.strings("extra_addresses")),
                     net::parse_all<net::Cidr>(body.strings("routes"))};
        if (auto mark = body.value().find("mark"); mark != body.value().end() && !mark->is_null()) {
            spec.mark = mark_from_json(*mark);
        }
        TunAddressing addressing;
        auto prefix_len = body.integer("prefix_len", 0, 32);
        if (auto address = body.string("address")) {
            if (prefix_len) fail(ErrorCode::invalid, "give \"address\" or \"prefix_len\", not both");
            addressing.address = net::InterfaceAddress::parse(*address);
        }
        addressing.prefix_len = prefix_len.value_or(default_tun_prefix_len);
        addressing.ipv6 = body.boolean("ipv6").value_or(false);
        if (request.limited_to) {
            auto uid = *request.limited_to;
            const auto& tuns = service.list();
            auto owned = static_cast<std::size_t>(
                std::count_if(tuns.begin(), tuns.end(), [uid](const TunInterface& tun) { return tun.owner == uid; }));
            limit_to_owner(uid, spec, addressing, service.allocator().pool(), owned, self_service.quota);
        }
        return Response::json(status::created, to_json(service.create(spec, addressing, request.id)));
    });
    router.add(verb::get, "/tun", [&service, rendered = http::RenderedList<TunInterface>()](const Request&) mutable {
        return rendered.respond(service.list(), [](const TunInterface& tun) { return to_json(tun); });
    });
    router.add(verb::get, "/tun/{}", [&service](const Request& request) {
        return Response::json(status::ok, to_json(service.get(request.params[0])));
    });
    router.add(verb::delete_, "/tun/{}", [&service](const Request& request) {
        if (request.limited_to) check_owner(*request.limited_to, service.get(request.params[0]));
        service.remove(request.params[0]);
        return Response::empty(status::no_content);
    });
}

} // namespace netd
