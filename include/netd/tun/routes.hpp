#pragma once

#include <nlohmann/json.hpp>

#include "netd/http/metrics.hpp"
#include "netd/http/router.hpp"
#include "netd/tun/self_service.hpp"
#include "netd/tun_service.hpp"

namespace netd {

// POST /tun, GET /tun, GET /tun/{name}, DELETE /tun/{name}. A request that
// only --self-service let through is kept to the caller's own TUNs, within
// `self_service.quota`.
void add_tun_routes(http::Router& router, TunService& service, SelfService self_service = {});

// The managed TUNs and the free /24s, for /metrics.
std::vector<http::Gauge> tun_gauges(TunService& service);

// The spec's shape: {"name","ip_addr","netmask","broadcast"}.
nlohmann::json to_json(const TunInterface& tun);

} // namespace netd
