#include "netd/subnet/routes.hpp"

#include <algorithm>

#include "netd/error.hpp"
#include "netd/http/json_body.hpp"
#include "netd/http/rendered_list.hpp"

namespace netd {

using http::Request;
using http::Response;
using http::status;
using http::verb;

nlohmann::json to_json(const Subnet& subnet) {
    nlohmann::json out{
        {"network", subnet.network.to_string()},
        {"interface", subnet.interface},
        {"address", subnet.address.address().to_string()},
    };
    if (subnet.owner) out["owner"] = *subnet.owner;
    return out;
}

namespace {

// A request that only --self-service let through is limited to the pool
// and the quota, and the subnet is the caller's.
Subnet create(SubnetService& service, const Request& request, const SelfService& self_service) {
    http::JsonBody body(request.body, {"cidr", "prefix_len"});
    auto cidr_text = body.string("cidr");
    auto prefix_len = body.integer("prefix_len", 0, 32);
    if (cidr_text && prefix_len) {
        fail(ErrorCode::invalid, "give either \"cidr\" (a subnet) or \"prefix_len\" (a size to allocate), not both");
    }
    std::optional<net::Cidr> cidr;
    if (cidr_text) cidr = net::Cidr::parse(*cidr_text);
    auto size = prefix_len.value_or(service.policy().default_prefix_len);
    if (auto uid = request.limited_to) {
        const auto& subnets = service.list();
        auto held = static_cast<std::size_t>(std::count_if(
            subnets.begin(), subnets.end(), [uid](const Subnet& subnet) { return subnet.owner == uid; }));
        limit_to_owner(*uid, cidr, size, service.policy(), held, self_service.quota);
    }
    if (cidr) return service.add(*cidr, request.limited_to, request.id);
    return service.allocate(size, request.limited_to, request.id);
}

} // namespace

std::vector<http::Gauge> subnet_gauges(SubnetService& service) {
    auto size = service.policy().default_prefix_len;
    return {{"netd_managed_subnets", "Subnets managed by this daemon.", static_cast<double>(service.list().size())},
            {"netd_pool_free_blocks", "Free blocks of the default size in the pool.",
             static_cast<double>(service.allocator().free_blocks(size))}};
}

void add_subnet_routes(http::Router& router, SubnetService& service, SelfService self_service) {
    router.add(verb::post, "/subnet", [&service, self_service](const Request& request) {
        return Response::json(status::created, to_json(create(service, request, self_service)));
    });
    router.add(verb::get, "/subnet", [&service, rendered = http::RenderedList<Subnet>()](const Request&) mutable {
        return rendered.respond(service.list(), [](const Subnet& subnet) { return to_json(subnet); });
    });
    router.add(verb::get, "/subnet/{*}", [&service](const Request& request) {
        return Response::json(status::ok, to_json(service.get(net::Cidr::parse(request.params[0]))));
    });
    router.add(verb::delete_, "/subnet/{*}", [&service](const Request& request) {
        auto network = net::Cidr::parse(request.params[0]);
        if (request.limited_to) check_owner(*request.limited_to, service.get(network));
        service.remove(network);
        return Response::empty(status::no_content);
    });
}

} // namespace netd
