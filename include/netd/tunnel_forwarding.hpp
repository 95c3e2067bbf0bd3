#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netd/net/ip.hpp"
#include "netd/tunnel_config.hpp"

// Where netd-tunnel's server sends a packet, who may send what, and what
// each client is told when it connects. Pure: the rules, table-tested.
namespace netd::tunnel {

struct PacketAddresses {
    net::IpAddress source;
    net::IpAddress destination;
};

// From an IP packet's header (IPv4 or IPv6); nullopt for anything shorter
// than its header, or of another version.
std::optional<PacketAddresses> addresses_of(const std::uint8_t* packet, std::size_t size);

class Forwarding {
public:
    explicit Forwarding(const ServerConfig& server);

    // The client that a packet read from the server's TUN goes to: the one
    // with the longest of its `sources` holding the packet's source (a
    // source pinned to it), else the one with the longest of its `ip` and
    // `routes` holding its destination; nullopt when none does (dropped).
    std::optional<std::size_t> client_for(const PacketAddresses& packet) const;

    // Whether client `client` may send a packet from `source`: only from
    // what it was given (its ip, its routes, its sources). Anything else is
    // spoofed, dropped and counted.
    bool may_send(std::size_t client, const net::IpAddress& source) const;

private:
    struct Entry {
        net::Cidr network;
        std::size_t client;
    };
    static std::optional<std::size_t> longest(const std::vector<Entry>& entries, const net::IpAddress& address);

    std::vector<Entry> destinations_; // ips (/32) and routes
    std::vector<Entry> sources_;
    std::vector<std::vector<net::Cidr>> allowed_; // by client
};

// What a client is told once in: its address with the server net's
// prefix, the MTU, and the routes through the tunnel (the server's
// `routes`, and the other clients' `routes` and `ips` outside net).
struct Hello {
    net::InterfaceAddress address;
    int mtu = 1500;
    std::vector<net::Cidr> routes{};
    friend bool operator==(const Hello&, const Hello&) = default;
};

Hello hello_for(const ServerConfig& server, std::size_t client);
std::string to_json(const Hello& hello);
// Throws invalid, saying what is wrong.
Hello parse_hello(const std::string& text);

} // namespace netd::tunnel
