// A binary message as a netd-tunnel peer sends it (tunnel_wire.hpp): any
// bytes, from an authenticated client or from a server the client trusts.
// Each record is cut out, its addresses read, and its offloads finished as
// for a TUN without them (tunnel_offload.hpp). Whatever comes out must be
// what a TUN can take: every piece of a TCP segment a well-formed packet,
// lengths and checksums right, no piece over gso_size, the payload whole.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "netd/tunnel_forwarding.hpp"
#include "netd/tunnel_offload.hpp"
#include "netd/tunnel_wire.hpp"

namespace {

using netd::tunnel::OffloadHeader;
using netd::tunnel::ones_complement_sum;

std::uint16_t get16(const std::uint8_t* at) { return static_cast<std::uint16_t>((at[0] << 8) | at[1]); }

void check(bool ok) {
    if (!ok) std::abort();
}

// One piece of a TCP segment: IP lengths and header checksum, TCP checksum
// over its pseudo-header. Returns its TCP payload's size.
std::size_t check_piece(const std::uint8_t* packet, std::size_t size, bool v4, std::size_t ip_header) {
    check(size >= ip_header + 20 && size <= 65535);
    if (v4) {
        check(get16(packet + 2) == size);
        check(ones_complement_sum(packet, ip_header) == 0xffff);
    } else {
        check(get16(packet + 4) + 40u == size);
    }
    std::uint32_t pseudo = 6 + static_cast<std::uint32_t>(size - ip_header);
    pseudo += v4 ? ones_complement_sum(packet + 12, 8) : ones_complement_sum(packet + 8, 32);
    check(ones_complement_sum(packet + ip_header, size - ip_header, pseudo) == 0xffff);
    std::size_t tcp_header = static_cast<std::size_t>(packet[ip_header + 12] >> 4) * 4;
    check(ip_header + tcp_header <= size);
    return size - ip_header - tcp_header;
}

void finish(const std::uint8_t* record, std::size_t size, std::vector<std::uint8_t>& scratch) {
    check(size >= netd::tunnel::offload_header && size <= netd::tunnel::max_record);
    const auto* packet = record + netd::tunnel::offload_header;
    std::size_t length = size - netd::tunnel::offload_header;
    (void)netd::tunnel::addresses_of(packet, length);

    auto header = OffloadHeader::read(record);
    auto type = header.gso_type & ~OffloadHeader::gso_ecn;
    bool segmenting = type == OffloadHeader::gso_tcpv4 || type == OffloadHeader::gso_tcpv6;
    std::size_t pieces = 0, payload = 0;
    bool accepted = netd::tunnel::finish_offloads(record, size, scratch, [&](const std::uint8_t* out, std::size_t n) {
        ++pieces;
        if (!segmenting) {
            check(n == length);
            return;
        }
        std::size_t piece = check_piece(out, n, type == OffloadHeader::gso_tcpv4, header.csum_start);
        check(piece <= header.gso_size);
        payload += piece;
    });
    if (!accepted) {
        check(pieces == 0);
        return;
    }
    if (!segmenting) {
        check(pieces == 1);
        return;
    }
    // Every byte of the segment's payload, in no more pieces than it takes.
    std::size_t tcp_header = static_cast<std::size_t>(packet[header.csum_start + 12] >> 4) * 4;
    std::size_t whole = length - header.csum_start - tcp_header;
    check(payload == whole);
    check(pieces == (whole == 0 ? 1 : (whole + header.gso_size - 1) / header.gso_size));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> scratch;
    std::size_t visited = 0;
    netd::tunnel::for_each_record(data, size, [&](const std::uint8_t* record, std::size_t length) {
        check(record >= data && record + length <= data + size);
        ++visited;
        finish(record, length, scratch);
    });
    check(visited <= size / (netd::tunnel::record_prefix + netd::tunnel::offload_header));
    return 0;
}
