#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

// What netd-tunnel asks of the OS besides sockets: the TUN's offloads, and
// giving up every privilege. One file per OS (platform/*/tunnel_io_*.cpp).
namespace netd::platform {

// Whether this OS's TUN descriptors can carry a virtio header with
// offloads (Linux's IFF_VNET_HDR); netd-tunnel asks tun-daemon for one so.
bool tun_offloads_supported();

// Turns on a TUN's offloads through a descriptor opened with IFF_VNET_HDR:
// checksums and TCP segmentation for IPv4 and IPv6 (TUNSETVNETHDRSZ,
// TUNSETOFFLOAD; neither needs a privilege), so that one read or write
// moves a segment of up to 64 KiB instead of a packet. Throws unavailable.
void enable_tun_offloads(int fd);

// Bytes before the IP header of each packet read from or written to this
// OS's TUN descriptor when it carries no virtio header: none on Linux; on
// macOS a utun's address family (AF_INET or AF_INET6, 4 bytes big-endian).
std::size_t tun_packet_prefix();
// Writes that prefix at `at` for an IP packet whose first byte is
// `first_byte` (the version is its high nibble).
void fill_tun_packet_prefix(std::uint8_t* at, std::uint8_t first_byte);

// Gives up every capability (effective, permitted, inheritable, ambient,
// and the bounding set where this process may change it) and sets
// no_new_privs, so that nothing run later regains any. Capabilities belong
// to a thread: call it before making any. Throws internal on failure.
void drop_all_privileges();

// The effective capabilities, as text ("none" when there are none): what
// netd-tunnel logs after dropping them.
std::string effective_privileges();

} // namespace netd::platform
