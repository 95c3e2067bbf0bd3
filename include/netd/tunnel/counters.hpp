#pragma once

#include <cstdint>
#include <map>
#include <string>

// What netd-tunnel counts, per peer (a server's clients by address, a
// client's server by URL), and renders for Prometheus. Touched only on the
// I/O thread, so plain integers.
namespace netd::tunnel {

struct PeerCounters {
    bool connected = false;
    std::uint64_t connects = 0;
    // "in": from the peer, written to the TUN; "out": read from the TUN,
    // sent to the peer. A packet is one TUN read or write: with the
    // offloads on, a TCP segment of up to 64 KiB counts once.
    std::uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
    std::map<std::string, std::uint64_t> drops{}; // by reason: spoofed, malformed, tun_write, ...
};

struct Counters {
    std::map<std::string, PeerCounters> peers{};
    std::map<std::string, std::uint64_t> drops{}; // of no peer's: no_route, disconnected
    std::uint64_t refused = 0;                    // connections refused: a bad token, rate limit
};

// Prometheus' text format, for the tunnels by name.
std::string render(const std::map<std::string, const Counters*>& tunnels);

} // namespace netd::tunnel
