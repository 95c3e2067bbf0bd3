#pragma once

#include <nlohmann/json.hpp>

#include "netd/http/metrics.hpp"
#include "netd/http/router.hpp"
#include "netd/subnet/self_service.hpp"
#include "netd/subnet_service.hpp"

namespace netd {

// POST /subnet, GET /subnet, GET /subnet/{cidr}, DELETE /subnet/{cidr}. The
// CIDR in a path may come percent-encoded (10.1.0.0%2F24) or not (10.1.0.0/24).
// A request that only --self-service let through is kept to the caller's own
// subnets in the pool, within `self_service.quota`.
void add_subnet_routes(http::Router& router, SubnetService& service, SelfService self_service = {});

// The managed subnets and the free blocks of the default size, for /metrics.
std::vector<http::Gauge> subnet_gauges(SubnetService& service);

// The spec's shape, {"network","interface"}, plus the address put on the host
// and, for a subnet made through --self-service, its "owner" uid.
nlohmann::json to_json(const Subnet& subnet);

} // namespace netd
