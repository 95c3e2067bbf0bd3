#include "netd/tun_routes.hpp"

#include "netd/http/json_body.hpp"
#include "netd/http/rendered_list.hpp"

namespace netd {

using http::Request;
using http::Response;
using http::status;
using http::verb;

nlohmann::json to_json(const TunInterface& tun) {
    auto network = tun.address.network();
    nlohmann::json out{
        {"name", tun.name},
        {"ip_addr", tun.address.address().to_string()},
        {"netmask", network.netmask().to_string()},
        {"broadcast", network.broadcast().to_string()},
    };
    if (tun.owner) out["owner"] = *tun.owner;
    if (tun.group) out["group"] = *tun.group;
    return out;
}

std::vector<http::Gauge> tun_gauges(TunService& service) {
    return {{"netd_managed_interfaces", "TUN interfaces managed by this daemon.",
             static_cast<double>(service.list().size())},
            {"netd_pool_free_blocks", "Free /24 blocks in the pool.",
             static_cast<double>(service.allocator().free_blocks(TunService::block_prefix_len))}};
}

void add_tun_routes(http::Router& router, TunService& service) {
    router.add(verb::post, "/tun", [&service](const Request& request) {
        http::JsonBody body(request.body, {"name", "owner", "group"});
        TunSpec spec{body.string("name"), body.id("owner"), body.id("group")};
        return Response::json(status::created, to_json(service.create(spec)));
    });
    router.add(verb::get, "/tun", [&service, rendered = http::RenderedList<TunInterface>()](const Request&) mutable {
        return rendered.respond(service.list(), [](const TunInterface& tun) { return to_json(tun); });
    });
    router.add(verb::get, "/tun/{}", [&service](const Request& request) {
        return Response::json(status::ok, to_json(service.get(request.params[0])));
    });
    router.add(verb::delete_, "/tun/{}", [&service](const Request& request) {
        service.remove(request.params[0]);
        return Response::empty(status::no_content);
    });
}

} // namespace netd
