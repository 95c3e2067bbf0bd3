#include "netd/tunnel/counters.hpp"

#include <sstream>

namespace netd::tunnel {
namespace {

// A label value as Prometheus reads it: backslash, quote and newline escaped.
std::string label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

} // namespace

std::string render(const std::map<std::string, const Counters*>& tunnels) {
    std::ostringstream out;
    auto each_peer = [&](const char* name, const char* type, const char* help, auto write) {
        out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
        for (const auto& [tunnel, counters] : tunnels) {
            for (const auto& [peer, c] : counters->peers) {
                write("tunnel=\"" + label(tunnel) + "\",peer=\"" + label(peer) + "\"", c);
            }
        }
    };
    each_peer("netd_tunnel_connected", "gauge", "Whether the peer is connected now.",
              [&](const std::string& labels, const PeerCounters& c) {
                  out << "netd_tunnel_connected{" << labels << "} " << (c.connected ? 1 : 0) << "\n";
              });
    each_peer("netd_tunnel_connects_total", "counter", "Connections made with the peer.",
              [&](const std::string& labels, const PeerCounters& c) {
                  out << "netd_tunnel_connects_total{" << labels << "} " << c.connects << "\n";
              });
    each_peer("netd_tunnel_bytes_total", "counter",
              "Bytes of IP packets from the peer to the TUN (in) and from the TUN to the peer (out).",
              [&](const std::string& labels, const PeerCounters& c) {
                  out << "netd_tunnel_bytes_total{" << labels << ",direction=\"in\"} " << c.bytes_in << "\n";
                  out << "netd_tunnel_bytes_total{" << labels << ",direction=\"out\"} " << c.bytes_out << "\n";
              });
    each_peer("netd_tunnel_packets_total", "counter",
              "Packets each way; with the TUN's offloads a TCP segment of up to 64 KiB counts once.",
              [&](const std::string& labels, const PeerCounters& c) {
                  out << "netd_tunnel_packets_total{" << labels << ",direction=\"in\"} " << c.packets_in << "\n";
                  out << "netd_tunnel_packets_total{" << labels << ",direction=\"out\"} " << c.packets_out << "\n";
              });
    out << "# HELP netd_tunnel_drops_total Packets dropped, by reason (and by peer where one is to blame).\n"
           "# TYPE netd_tunnel_drops_total counter\n";
    for (const auto& [tunnel, counters] : tunnels) {
        for (const auto& [peer, c] : counters->peers) {
            for (const auto& [reason, count] : c.drops) {
                out << "netd_tunnel_drops_total{tunnel=\"" << label(tunnel) << "\",peer=\"" << label(peer)
                    << "\",reason=\"" << label(reason) << "\"} " << count << "\n";
            }
        }
        for (const auto& [reason, count] : counters->drops) {
            out << "netd_tunnel_drops_total{tunnel=\"" << label(tunnel) << "\",peer=\"\",reason=\"" << label(reason)
                << "\"} " << count << "\n";
        }
    }
    out << "# HELP netd_tunnel_refused_total Connections refused: a wrong or missing token, or too many failures.\n"
           "# TYPE netd_tunnel_refused_total counter\n";
    for (const auto& [tunnel, counters] : tunnels) {
        out << "netd_tunnel_refused_total{tunnel=\"" << label(tunnel) << "\"} " << counters->refused << "\n";
    }
    return out.str();
}

} // namespace netd::tunnel
