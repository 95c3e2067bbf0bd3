#include "netd/tunnel_forwarding.hpp"

#include <algorithm>

#include "netd/error.hpp"

namespace netd::tunnel {

std::optional<PacketAddresses> addresses_of(const std::uint8_t* packet, std::size_t size) {
    if (size < 1) return std::nullopt;
    switch (packet[0] >> 4) {
    case 4:
        if (size < 20) return std::nullopt;
        return PacketAddresses{net::IpAddress::from_bytes(packet + 12, 4), net::IpAddress::from_bytes(packet + 16, 4)};
    case 6:
        if (size < 40) return std::nullopt;
        return PacketAddresses{net::IpAddress::from_bytes(packet + 8, 16), net::IpAddress::from_bytes(packet + 24, 16)};
    default:
        return std::nullopt;
    }
}

Forwarding::Forwarding(const ServerConfig& server) {
    for (std::size_t i = 0; i < server.clients.size(); ++i) {
        const auto& client = server.clients[i];
        std::vector<net::Cidr> allowed{net::Cidr(client.ip, client.ip.bit_width())};
        destinations_.push_back({allowed.front(), i});
        for (const auto& route : client.routes) {
            destinations_.push_back({route, i});
            allowed.push_back(route);
        }
        for (const auto& source : client.sources) {
            sources_.push_back({source, i});
            allowed.push_back(source);
        }
        allowed_.push_back(std::move(allowed));
    }
}

// A linear scan: a server has tens of clients, and a packet read with the
// TUN's offloads is up to 64 KiB, so this is never what limits throughput.
std::optional<std::size_t> Forwarding::longest(const std::vector<Entry>& entries, const net::IpAddress& address) {
    const Entry* best = nullptr;
    for (const auto& entry : entries) {
        if (entry.network.contains(address) && (!best || entry.network.prefix_len() > best->network.prefix_len())) {
            best = &entry;
        }
    }
    return best ? std::optional<std::size_t>(best->client) : std::nullopt;
}

std::optional<std::size_t> Forwarding::client_for(const PacketAddresses& packet) const {
    if (auto pinned = longest(sources_, packet.source)) return pinned;
    return longest(destinations_, packet.destination);
}

bool Forwarding::may_send(std::size_t client, const net::IpAddress& source) const {
    if (client >= allowed_.size()) return false;
    const auto& allowed = allowed_[client];
    return std::any_of(allowed.begin(), allowed.end(), [&](const net::Cidr& network) { return network.contains(source); });
}

Hello hello_for(const ServerConfig& server, std::size_t client) {
    Hello hello;
    hello.address = net::InterfaceAddress(server.clients.at(client).ip, server.net.prefix_len());
    hello.mtu = server.mtu;
    auto add = [&](const net::Cidr& route) {
        if (server.net.network().contains(route)) return; // on the link already
        if (std::find(hello.routes.begin(), hello.routes.end(), route) == hello.routes.end()) {
            hello.routes.push_back(route);
        }
    };
    for (const auto& route : server.routes) add(route);
    for (const auto& ip : server.ips) add(net::Cidr(ip.address(), 32));
    for (std::size_t i = 0; i < server.clients.size(); ++i) {
        if (i == client) continue;
        for (const auto& route : server.clients[i].routes) add(route);
    }
    return hello;
}

std::string to_json(const Hello& hello) {
    nlohmann::json routes = nlohmann::json::array();
    for (const auto& route : hello.routes) routes.push_back(route.to_string());
    return nlohmann::json{{"address", hello.address.to_string()}, {"mtu", hello.mtu}, {"routes", routes}}.dump();
}

Hello parse_hello(const std::string& text) {
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (!json.is_object() || !json.contains("address") || !json["address"].is_string() || !json.contains("mtu") ||
        !json["mtu"].is_number_unsigned() || !json.contains("routes") || !json["routes"].is_array()) {
        fail(ErrorCode::invalid, "the server's hello is not {\"address\", \"mtu\", \"routes\"}");
    }
    Hello hello;
    hello.address = net::InterfaceAddress::parse(json["address"].get<std::string>());
    auto mtu = json["mtu"].get<std::uint64_t>();
    if (mtu < 576 || mtu > 65535) fail(ErrorCode::invalid, "the server's hello has an MTU out of range");
    hello.mtu = static_cast<int>(mtu);
    for (const auto& route : json["routes"]) {
        if (!route.is_string()) fail(ErrorCode::invalid, "the server's hello has a route that is not a string");
        hello.routes.push_back(net::Cidr::parse(route.get<std::string>()));
    }
    return hello;
}

} // namespace netd::tunnel
