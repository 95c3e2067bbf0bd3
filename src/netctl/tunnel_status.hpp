#pragma once

#include <string>

#include <nlohmann/json.hpp>

// netctl tunnel status: netd-tunnel's metrics (its --metrics endpoint, a
// Prometheus text) as rows, one per tunnel and peer.
namespace netd::netctl {

// Where netd-tunnel@NAME serves its metrics (the unit's --metrics).
std::string tunnel_metrics_default(const std::string& name);

// The rows of a metrics text: tunnel, peer, connected, connects, bytes_in,
// bytes_out, packets_in, packets_out, drops ("reason=N,..."), refused.
nlohmann::json tunnel_rows(const std::string& metrics);

} // namespace netd::netctl
