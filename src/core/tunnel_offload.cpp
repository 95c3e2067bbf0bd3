#include "netd/tunnel_offload.hpp"

#include <algorithm>
#include <cstring>

#include "netd/tunnel_wire.hpp"

namespace netd::tunnel {
namespace {

std::uint16_t get16(const std::uint8_t* at) { return static_cast<std::uint16_t>((at[0] << 8) | at[1]); }
void put16(std::uint8_t* at, std::uint32_t value) {
    at[0] = static_cast<std::uint8_t>(value >> 8);
    at[1] = static_cast<std::uint8_t>(value);
}
void put32(std::uint8_t* at, std::uint32_t value) {
    put16(at, value >> 16);
    put16(at + 2, value & 0xffff);
}
std::uint16_t le16(const std::uint8_t* at) { return static_cast<std::uint16_t>(at[0] | (at[1] << 8)); }

constexpr std::uint8_t tcp_fin = 0x01, tcp_psh = 0x08, tcp_cwr = 0x80;
constexpr std::uint8_t protocol_tcp = 6;
constexpr std::size_t min_segment = 48;

// Completes a checksum the sender left for the NIC: the field holds the
// pseudo-header's sum; the rest is summed from csum_start to the end.
bool complete_checksum(std::uint8_t* packet, std::size_t size, const OffloadHeader& header) {
    std::size_t start = header.csum_start, field = start + header.csum_offset;
    if (start >= size || field + 2 > size) return false;
    auto sum = ones_complement_sum(packet + start, size - start);
    put16(packet + field, static_cast<std::uint16_t>(~sum));
    return true;
}

// A TCP segment cut at gso_size, each piece with its own IP length (and
// IPv4 id and header checksum), sequence number and TCP checksum; FIN and
// PSH on the last piece only, CWR on the first only, as the kernel does.
bool segment_tcp(const std::uint8_t* packet, std::size_t size, const OffloadHeader& header,
                 std::vector<std::uint8_t>& scratch,
                 const std::function<void(const std::uint8_t*, std::size_t)>& emit) {
    bool v4 = (header.gso_type & ~OffloadHeader::gso_ecn) == OffloadHeader::gso_tcpv4;
    std::size_t ip_header = header.csum_start; // where TCP starts
    if (ip_header < (v4 ? 20u : 40u) || ip_header + 20 > size || (packet[0] >> 4) != (v4 ? 4 : 6)) return false;
    // IPv4 options are cut with the header; IPv6 extension headers are not
    // taken (the kernel sends none with TCP segments of its own).
    if (v4 && (ip_header != std::size_t{packet[0] & 0x0fu} * 4 || packet[9] != protocol_tcp)) return false;
    if (!v4 && (ip_header != 40 || packet[6] != protocol_tcp)) return false;
    std::size_t tcp_header = static_cast<std::size_t>(packet[ip_header + 12] >> 4) * 4;
    std::size_t headers = ip_header + tcp_header;
    // A kernel cuts no segment smaller than its minimum MSS (Linux: 48,
    // tcp_min_snd_mss); smaller would let a peer turn one record into
    // tens of thousands of writes.
    if (tcp_header < 20 || headers > size || header.gso_size < min_segment) return false;

    std::size_t payload = size - headers, mss = header.gso_size;
    std::uint32_t sequence = read_be32(packet + ip_header + 4);
    std::uint16_t id = v4 ? get16(packet + 4) : 0;
    std::uint8_t flags = packet[ip_header + 13];
    scratch.resize(headers + mss);
    for (std::size_t at = 0, i = 0; at < payload || i == 0; at += mss, ++i) {
        std::size_t piece = std::min(mss, payload - at), length = headers + piece;
        auto* out = scratch.data();
        std::memcpy(out, packet, headers);
        std::memcpy(out + headers, packet + headers + at, piece);
        bool last = at + piece >= payload;
        if (v4) {
            put16(out + 2, length);
            put16(out + 4, static_cast<std::uint16_t>(id + i));
            put16(out + 10, 0);
            put16(out + 10, static_cast<std::uint16_t>(~ones_complement_sum(out, ip_header)));
        } else {
            put16(out + 4, length - 40);
        }
        auto* tcp = out + ip_header;
        put32(tcp + 4, static_cast<std::uint32_t>(sequence + at));
        tcp[13] = static_cast<std::uint8_t>(flags & ~((last ? 0 : tcp_fin | tcp_psh) | (i == 0 ? 0 : tcp_cwr)));
        // The pseudo-header: addresses, protocol, TCP length.
        std::uint32_t pseudo = protocol_tcp + static_cast<std::uint32_t>(length - ip_header);
        pseudo += v4 ? ones_complement_sum(out + 12, 8) : ones_complement_sum(out + 8, 32);
        put16(tcp + 16, 0);
        put16(tcp + 16, static_cast<std::uint16_t>(~ones_complement_sum(tcp, length - ip_header, pseudo)));
        emit(out, length);
        if (last) break;
    }
    return true;
}

} // namespace

OffloadHeader OffloadHeader::read(const std::uint8_t* at) {
    return {at[0], at[1], le16(at + 2), le16(at + 4), le16(at + 6), le16(at + 8)};
}

std::uint16_t ones_complement_sum(const std::uint8_t* data, std::size_t size, std::uint32_t initial) {
    std::uint64_t sum = initial;
    std::size_t i = 0;
    for (; i + 1 < size; i += 2) sum += get16(data + i);
    if (i < size) sum += std::uint32_t{data[i]} << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

bool finish_offloads(const std::uint8_t* record, std::size_t size, std::vector<std::uint8_t>& scratch,
                     const std::function<void(const std::uint8_t*, std::size_t)>& emit) {
    if (size < offload_header) return false;
    auto header = OffloadHeader::read(record);
    const auto* packet = record + offload_header;
    std::size_t length = size - offload_header;
    switch (header.gso_type & ~OffloadHeader::gso_ecn) {
    case OffloadHeader::gso_none:
        if (!(header.flags & OffloadHeader::needs_csum)) break;
        scratch.assign(packet, packet + length);
        if (!complete_checksum(scratch.data(), length, header)) return false;
        emit(scratch.data(), length);
        return true;
    case OffloadHeader::gso_tcpv4:
    case OffloadHeader::gso_tcpv6:
        return segment_tcp(packet, length, header, scratch, emit);
    default:
        return false;
    }
    emit(packet, length); // nothing to finish (DATA_VALID at most)
    return true;
}

} // namespace netd::tunnel
