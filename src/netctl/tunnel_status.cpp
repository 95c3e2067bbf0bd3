#include "tunnel_status.hpp"

#include <map>
#include <sstream>

namespace netd::netctl {
namespace {

// The labels of a sample line: name{a="x",b="y"} value.
std::map<std::string, std::string> labels_of(const std::string& inside) {
    std::map<std::string, std::string> labels;
    std::size_t at = 0;
    while (at < inside.size()) {
        auto equals = inside.find("=\"", at);
        if (equals == std::string::npos) break;
        auto key = inside.substr(at, equals - at);
        std::string value;
        std::size_t i = equals + 2;
        for (; i < inside.size() && inside[i] != '"'; ++i) {
            if (inside[i] == '\\' && i + 1 < inside.size()) ++i;
            value += inside[i];
        }
        labels[key] = value;
        at = i + 2; // past the quote and the comma
    }
    return labels;
}

} // namespace

std::string tunnel_metrics_default(const std::string& name) { return "unix:/run/netd-tunnel/" + name + ".metrics"; }

nlohmann::json tunnel_rows(const std::string& metrics) {
    std::map<std::pair<std::string, std::string>, nlohmann::json> rows;
    std::map<std::string, std::uint64_t> refused;
    std::istringstream in(metrics);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto open = line.find('{'), close = line.rfind('}');
        if (open == std::string::npos || close == std::string::npos || close < open) continue;
        auto name = line.substr(0, open);
        auto labels = labels_of(line.substr(open + 1, close - open - 1));
        std::uint64_t value = 0;
        try {
            value = std::stoull(line.substr(close + 1));
        } catch (const std::exception&) {
            continue;
        }
        if (name == "netd_tunnel_refused_total") {
            refused[labels["tunnel"]] = value;
            continue;
        }
        auto& row = rows[{labels["tunnel"], labels["peer"]}];
        if (row.is_null()) row = {{"tunnel", labels["tunnel"]}, {"peer", labels["peer"].empty() ? "-" : labels["peer"]}};
        auto direction = labels["direction"];
        if (name == "netd_tunnel_connected") row["connected"] = value ? "yes" : "no";
        if (name == "netd_tunnel_connects_total") row["connects"] = value;
        if (name == "netd_tunnel_bytes_total") row["bytes_" + direction] = value;
        if (name == "netd_tunnel_packets_total") row["packets_" + direction] = value;
        if (name == "netd_tunnel_drops_total") {
            auto drops = row.value("drops", std::string());
            row["drops"] = drops + (drops.empty() ? "" : ",") + labels["reason"] + "=" + std::to_string(value);
        }
    }
    auto out = nlohmann::json::array();
    for (auto& [key, row] : rows) {
        row["refused"] = refused[key.first];
        out.push_back(row);
    }
    return out;
}

} // namespace netd::netctl
