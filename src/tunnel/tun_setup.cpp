#include "netd/tunnel/tun_setup.hpp"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/platform/tunnel_io.hpp"

namespace netd::tunnel {
namespace {

using nlohmann::json;

json request_for(const TunWanted& wanted) {
    json body{{"name", wanted.name},
              {"address", wanted.address.to_string()},
              {"mtu", wanted.mtu},
              {"owner", wanted.owner}};
    if (!wanted.extra_addresses.empty()) body["extra_addresses"] = net::to_strings(wanted.extra_addresses);
    if (!wanted.routes.empty()) body["routes"] = net::to_strings(wanted.routes);
    // A mark with no routes (tapotun's client example) means the marked
    // traffic takes the tunnel: a default route in the mark's table, which
    // only marked packets look up. tun-daemon wants routes with a mark.
    if (wanted.mark && wanted.routes.empty()) body["routes"] = {"0.0.0.0/0"};
    if (wanted.mark) body["mark"] = {{"value", wanted.mark->value}, {"table", wanted.mark->table}};
    return body;
}

std::set<std::string> strings_at(const json& tun, const char* field) {
    std::set<std::string> out;
    if (auto it = tun.find(field); it != tun.end() && it->is_array()) {
        for (const auto& item : *it) {
            if (item.is_string()) out.insert(item.get<std::string>());
        }
    }
    return out;
}

// Whether the TUN the daemon has is the one wanted, field by field as
// the daemon reads them back from the kernel.
bool matches(const json& tun, const TunWanted& wanted) {
    auto wanted_body = request_for(wanted);
    auto routes = wanted_body.value("routes", json::array());
    auto extras = wanted_body.value("extra_addresses", json::array());
    return tun.value("ip_addr", "") == wanted.address.address().to_string() &&
           tun.value("prefix_len", -1) == wanted.address.prefix_len() && tun.value("mtu", -1) == wanted.mtu &&
           tun.value("owner", json()) == json(wanted.owner) &&
           strings_at(tun, "routes") == std::set<std::string>(routes.begin(), routes.end()) &&
           strings_at(tun, "extra_addresses") == std::set<std::string>(extras.begin(), extras.end()) &&
           tun.value("mark", json()) == wanted_body.value("mark", json());
}

[[noreturn]] void refused(const std::string& what, const http::Reply& reply) {
    auto json = json::parse(reply.body, nullptr, false);
    std::string message = reply.body.substr(0, 300);
    if (json.is_object() && json.contains("error") && json["error"].is_object()) {
        message = json["error"].value("message", message);
    }
    auto code = reply.status == 400   ? ErrorCode::invalid
                : reply.status == 401 ? ErrorCode::unauthorized
                : reply.status == 403 ? ErrorCode::forbidden
                : reply.status == 409 ? ErrorCode::conflict
                                      : ErrorCode::unavailable;
    fail(code, "tun-daemon refused to " + what + " (" + std::to_string(reply.status) + "): " + message);
}

http::Reply call(const DaemonAccess& daemon, const std::string& method, const std::string& target,
                 const std::string& body = {}) {
    try {
        return http::call(daemon.api, method, target, body, daemon.token);
    } catch (const http::Unreachable& error) {
        fail(ErrorCode::unavailable, std::string("tun-daemon at ") + daemon.api.describe() +
                                         " cannot be reached: " + error.what());
    } catch (const http::Untrusted& error) {
        fail(ErrorCode::unavailable, std::string("refusing to talk to tun-daemon at ") + daemon.api.describe() +
                                         ": " + error.what());
    }
}

} // namespace

client::TunDescriptor set_up_tun(const DaemonAccess& daemon, const TunWanted& wanted) {
    auto current = call(daemon, "GET", "/tun/" + wanted.name);
    bool keep = false;
    if (current.status == 200) {
        keep = matches(json::parse(current.body, nullptr, false), wanted);
        if (!keep) {
            spdlog::info("{} is not as configured: asking tun-daemon to make it anew", wanted.name);
            auto removed = call(daemon, "DELETE", "/tun/" + wanted.name);
            if (removed.status != 204 && removed.status != 404) refused("delete the old " + wanted.name, removed);
        }
    } else if (current.status != 404) {
        refused("show " + wanted.name, current);
    }
    if (!keep) {
        auto made = call(daemon, "POST", "/tun", request_for(wanted).dump());
        if (made.status != 201) refused("make " + wanted.name, made);
        spdlog::info("tun-daemon made {} with {}", wanted.name, wanted.address.to_string());
    }
    bool offloads = daemon.offloads && platform::tun_offloads_supported();
    client::TunDescriptor tun;
    try {
        tun = client::fetch_tun_descriptor(daemon.fd_socket, wanted.name, offloads);
    } catch (const client::FdRefused& error) {
        fail(error.code == "forbidden" ? ErrorCode::forbidden : ErrorCode::unavailable, error.what());
    }
    if (offloads) platform::enable_tun_offloads(tun.fd.get());
    return tun;
}

} // namespace netd::tunnel
