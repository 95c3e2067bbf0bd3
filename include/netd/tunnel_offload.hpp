#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

// What a TUN without offloads needs from a record that a TUN with them
// made: a TCP segment of up to 64 KiB cut into packets of the size the
// sender's kernel chose (gso_size), and a checksum left for the NIC
// (NEEDS_CSUM) completed. The Linux kernel does this for a descriptor opened
// with IFF_VNET_HDR; for one without (a macOS utun, or netd-tunnel
// --no-offloads) netd-tunnel does it, as wireguard-go's tun package does.
namespace netd::tunnel {

// struct virtio_net_hdr, as a TUN writes it (little-endian fields).
struct OffloadHeader {
    std::uint8_t flags = 0;
    std::uint8_t gso_type = 0;
    std::uint16_t hdr_len = 0, gso_size = 0, csum_start = 0, csum_offset = 0;

    static constexpr std::uint8_t needs_csum = 1;
    static constexpr std::uint8_t gso_none = 0, gso_tcpv4 = 1, gso_udp = 3, gso_tcpv6 = 4, gso_ecn = 0x80;

    static OffloadHeader read(const std::uint8_t* at);
    // Whether a TUN without offloads could take the packet as it is.
    bool plain() const { return flags == 0 && gso_type == gso_none; }
};

// Calls emit(packet, size) for each plain IP packet of `record` (an offload
// header, then the packet; tunnel_wire.hpp), reusing `scratch`. False, and
// nothing emitted, when the record cannot be finished: a GSO type other
// than TCP (UDP fragmentation, USO), a segment size under 48 bytes (no
// kernel cuts smaller), or a header that does not fit the packet. The
// packet in `record` is not changed.
bool finish_offloads(const std::uint8_t* record, std::size_t size, std::vector<std::uint8_t>& scratch,
                     const std::function<void(const std::uint8_t* packet, std::size_t size)>& emit);

// The Internet checksum (RFC 1071) of `size` bytes, folded, not complemented,
// starting from `initial`.
std::uint16_t ones_complement_sum(const std::uint8_t* data, std::size_t size, std::uint32_t initial = 0);

} // namespace netd::tunnel
