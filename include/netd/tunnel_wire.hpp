#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

// What netd-tunnel's peers exchange over the WebSocket after the server's
// hello (one text message, tunnel_forwarding.hpp): binary messages, each a
// batch of records, so that the packets read in one go cross in one frame
// (one syscall, one TLS record run). A record is a 4-byte big-endian length
// and that many bytes: a struct virtio_net_hdr (the TUN's offload header,
// zero when a packet needs none) and the IP packet, which with the TUN's
// offloads on is a segment of up to 64 KiB that the receiving kernel cuts.
namespace netd::tunnel {

inline constexpr std::size_t record_prefix = 4;
inline constexpr std::size_t offload_header = 10; // sizeof(struct virtio_net_hdr)
inline constexpr std::size_t max_record = offload_header + 65535;

// The big-endian 32-bit number at `at` (a record's length, a TCP sequence).
inline std::uint32_t read_be32(const std::uint8_t* at) {
    return (std::uint32_t{at[0]} << 24) | (std::uint32_t{at[1]} << 16) | (std::uint32_t{at[2]} << 8) | at[3];
}

// Appends one record holding `size` bytes at `record`.
inline void append_record(std::string& message, const void* record, std::size_t size) {
    const auto length = static_cast<std::uint32_t>(size);
    const char prefix[record_prefix] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                                        static_cast<char>(length >> 8), static_cast<char>(length)};
    message.append(prefix, record_prefix);
    message.append(static_cast<const char*>(record), size);
}

// Calls visit(data, size) for each record of a message, in order. False
// when the message is malformed (a record shorter than the offload header,
// longer than max_record, or running past the end): the records before it
// were visited, the rest are not.
template <typename Visit>
bool for_each_record(const std::uint8_t* data, std::size_t size, Visit&& visit) {
    std::size_t at = 0;
    while (at < size) {
        if (size - at < record_prefix) return false;
        std::size_t length = read_be32(data + at);
        at += record_prefix;
        if (length < offload_header || length > max_record || length > size - at) return false;
        visit(data + at, length);
        at += length;
    }
    return true;
}

} // namespace netd::tunnel
