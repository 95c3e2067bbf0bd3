#include "netd/subnet/routes.hpp"

#include "netd/error.hpp"
#include "netd/http/json_body.hpp"
#include "netd/http/rendered_list.hpp"

namespace netd {

using http::Request;
using http::Response;
using http::status;
using http::verb;

nlohmann::json to_json(const Subnet& subnet) {
    return {
        {"network", subnet.network.to_string()},
        {"interface", subnet.interface},
        {"address", subnet.address.address().to_string()},
    };
}

namespace {

Subnet create(SubnetService& service, const Request& request) {
    http::JsonBody body(request.body, {"cidr", "prefix_len"});
    auto cidr = body.string("cidr");
    auto prefix_len = body.integer("prefix_len", 0, 32);
    if (cidr && prefix_len) {
        fail(ErrorCode::invalid, "give either \"cidr\" (a subnet) or \"prefix_len\" (a size to allocate), not both");
    }
    if (cidr) return service.add(net::Cidr::parse(*cidr), request.id);
    return service.allocate(prefix_len.value_or(service.policy().default_prefix_len), request.id);
}

} // namespace

std::vector<http::Gauge> subnet_gauges(SubnetService& service) {
    auto size = service.policy().default_prefix_len;
    return {{"netd_managed_subnets", "Subnets managed by this daemon.", static_cast<double>(service.list().size())},
            {"netd_pool_free_blocks", "Free blocks of the default size in the pool.",
             static_cast<double>(service.allocator().free_blocks(size))}};
}

void add_subnet_routes(http::Router& router, SubnetService& service) {
    router.add(verb::post, "/subnet", [&service](const Request& request) {
        return Response::json(status::created, to_json(create(service, request)));
    });
    router.add(verb::get, "/subnet", [&service, rendered = http::RenderedList<Subnet>()](const Request&) mutable {
        return rendered.respond(service.list(), [](const Subnet& subnet) { return to_json(subnet); });
    });
    router.add(verb::get, "/subnet/{*}", [&service](const Request& request) {
        return Response::json(status::ok, to_json(service.get(net::Cidr::parse(request.params[0]))));
    });
    router.add(verb::delete_, "/subnet/{*}", [&service](const Request& request) {
        service.remove(net::Cidr::parse(request.params[0]));
        return Response::empty(status::no_content);
    });
}

} // namespace netd
