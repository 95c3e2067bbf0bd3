#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// WebSocket frames (RFC 6455 section 5) as netd-tunnel's links read and
// write them once the opening handshake is done: the framing by hand on the
// socket, so that a packet's way from the TUN to the peer is one read and
// one write with nothing between (Beast's composed operations cost more
// than the syscalls on an idle tunnel, see README's latency). Pure: no I/O.
namespace netd::tunnel::frames {

enum class Opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// The longest header: 2 bytes, an 8-byte length and a 4-byte mask key.
inline constexpr std::size_t max_header = 14;
// Control frames carry at most this much (section 5.5).
inline constexpr std::size_t max_control = 125;

using MaskKey = std::array<std::uint8_t, 4>;

// Writes the header of a final (unfragmented) frame of `size` payload bytes
// at `out` (max_header bytes of room); masked with `key` when `masked`, as a
// client must. Returns the header's length.
std::size_t write_header(std::uint8_t* out, Opcode opcode, std::uint64_t size, bool masked, const MaskKey& key);

// XORs `size` bytes with `key`, as if they began `offset` bytes into the
// payload: masking and unmasking are the same.
void apply_mask(std::uint8_t* data, std::size_t size, const MaskKey& key, std::size_t offset = 0);

// One frame's header read from the front of a buffer.
struct Header {
    Opcode opcode = Opcode::continuation;
    bool fin = false;
    bool masked = false;
    MaskKey key{};
    std::size_t header_size = 0;
    std::uint64_t payload_size = 0;
};

enum class Parse { incomplete, frame, invalid };

struct Parsed {
    Parse result = Parse::incomplete;
    Header header{};
    std::string why{}; // when invalid
};

// Reads the header at the front of `data`: incomplete until all of it is
// there; invalid, saying why, for reserved bits or opcodes, a control frame
// that is fragmented or over 125 bytes, a length not in its shortest form's
// range (the 64-bit one with its top bit set), a payload over
// `max_payload`, or a mask other than `expect_masked` (a server reads masked
// frames only, a client unmasked ones).
Parsed parse_header(const std::uint8_t* data, std::size_t size, bool expect_masked, std::uint64_t max_payload);

// Whole messages out of the frames at the front of a buffer, as a link
// reads them: each frame's payload unmasked in place, a fragmented
// message's pieces joined, control frames handed on as they come (between
// a message's fragments too, as the RFC allows).
class Reader {
public:
    // Hands on one message or control frame; false stops the reading (the
    // link closed meanwhile).
    using OnMessage = std::function<bool(Opcode opcode, const std::uint8_t* data, std::size_t size)>;

    struct Outcome {
        std::size_t consumed = 0; // bytes read from the front: whole frames
        std::size_t need = 0;     // the next frame's whole size, once its header is there
        bool stopped = false;     // on_message said stop
        std::string error{};      // the peer broke the framing: close the link
    };

    Reader(bool expect_masked, std::size_t max_message) : expect_masked_(expect_masked), max_message_(max_message) {}

    Outcome read(std::uint8_t* data, std::size_t size, const OnMessage& on_message);

private:
    bool expect_masked_;
    std::size_t max_message_;
    Opcode fragmented_ = Opcode::continuation; // the message being joined, if any
    std::vector<std::uint8_t> fragments_;
};

// A close frame's payload: the status code (1000: normal) and no reason.
std::array<std::uint8_t, 2> close_payload(std::uint16_t code);

} // namespace netd::tunnel::frames
