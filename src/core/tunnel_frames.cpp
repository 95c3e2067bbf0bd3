#include "netd/tunnel_frames.hpp"

#include <cstring>

namespace netd::tunnel::frames {
namespace {

constexpr std::uint8_t fin_bit = 0x80, rsv_bits = 0x70, opcode_bits = 0x0f, mask_bit = 0x80;

bool is_control(std::uint8_t opcode) { return opcode & 0x08; }

bool known(std::uint8_t opcode) {
    switch (static_cast<Opcode>(opcode)) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong:
        return true;
    }
    return false;
}

Parsed invalid(std::string why) { return {Parse::invalid, {}, std::move(why)}; }

} // namespace

std::size_t write_header(std::uint8_t* out, Opcode opcode, std::uint64_t size, bool masked, const MaskKey& key) {
    std::size_t at = 0;
    out[at++] = static_cast<std::uint8_t>(fin_bit | static_cast<std::uint8_t>(opcode));
    std::uint8_t mask = masked ? mask_bit : 0;
    if (size < 126) {
        out[at++] = static_cast<std::uint8_t>(mask | size);
    } else if (size <= 0xffff) {
        out[at++] = static_cast<std::uint8_t>(mask | 126);
        out[at++] = static_cast<std::uint8_t>(size >> 8);
        out[at++] = static_cast<std::uint8_t>(size);
    } else {
        out[at++] = static_cast<std::uint8_t>(mask | 127);
        for (int shift = 56; shift >= 0; shift -= 8) out[at++] = static_cast<std::uint8_t>(size >> shift);
    }
    if (masked) {
        std::memcpy(out + at, key.data(), key.size());
        at += key.size();
    }
    return at;
}

void apply_mask(std::uint8_t* data, std::size_t size, const MaskKey& key, std::size_t offset) {
    // Eight bytes at a time: the key repeated, rotated to the offset.
    std::uint8_t rotated[8];
    for (std::size_t i = 0; i < 8; ++i) rotated[i] = key[(offset + i) % 4];
    std::uint64_t wide;
    std::memcpy(&wide, rotated, 8);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, data + i, 8);
        chunk ^= wide;
        std::memcpy(data + i, &chunk, 8);
    }
    for (; i < size; ++i) data[i] ^= rotated[i % 8];
}

Parsed parse_header(const std::uint8_t* data, std::size_t size, bool expect_masked, std::uint64_t max_payload) {
    if (size < 2) return {};
    Header header;
    std::uint8_t first = data[0], second = data[1];
    if (first & rsv_bits) return invalid("a frame with reserved bits set (no extension was agreed)");
    std::uint8_t opcode = first & opcode_bits;
    if (!known(opcode)) return invalid("a frame with the reserved opcode " + std::to_string(opcode));
    header.opcode = static_cast<Opcode>(opcode);
    header.fin = first & fin_bit;
    header.masked = second & mask_bit;
    std::uint64_t length = second & 0x7f;
    std::size_t at = 2;
    if (length == 126) {
        if (size < at + 2) return {};
        length = (std::uint64_t{data[2]} << 8) | data[3];
        at += 2;
        if (length < 126) return invalid("a frame length not in its shortest form");
    } else if (length == 127) {
        if (size < at + 8) return {};
        length = 0;
        for (int i = 0; i < 8; ++i) length = length << 8 | data[at + static_cast<std::size_t>(i)];
        at += 8;
        if (length >> 63) return invalid("a frame length with its top bit set");
        if (length <= 0xffff) return invalid("a frame length not in its shortest form");
    }
    if (is_control(opcode) && (!header.fin || length > max_control)) {
        return invalid("a control frame fragmented or over 125 bytes");
    }
    if (header.masked != expect_masked) {
        return invalid(expect_masked ? "an unmasked frame from a client" : "a masked frame from a server");
    }
    if (length > max_payload) return invalid("a frame of " + std::to_string(length) + " bytes, over the limit");
    if (header.masked) {
        if (size < at + 4) return {};
        std::memcpy(header.key.data(), data + at, 4);
        at += 4;
    }
    header.header_size = at;
    header.payload_size = length;
    return {Parse::frame, header, {}};
}

Reader::Outcome Reader::read(std::uint8_t* data, std::size_t size, const OnMessage& on_message) {
    Outcome outcome;
    auto& at = outcome.consumed;
    while (size > at) {
        auto parsed = parse_header(data + at, size - at, expect_masked_, max_message_);
        if (parsed.result == Parse::invalid) {
            outcome.error = parsed.why;
            return outcome;
        }
        if (parsed.result == Parse::incomplete) break;
        const auto& header = parsed.header;
        auto length = static_cast<std::size_t>(header.payload_size);
        auto total = header.header_size + length;
        if (size - at < total) {
            outcome.need = total;
            break;
        }
        auto* payload = data + at + header.header_size;
        if (header.masked) apply_mask(payload, length, header.key);
        at += total;

        bool go_on = true;
        switch (header.opcode) {
        case Opcode::ping:
        case Opcode::pong:
        case Opcode::close:
            go_on = on_message(header.opcode, payload, length);
            break;
        case Opcode::text:
        case Opcode::binary:
            if (fragmented_ != Opcode::continuation) {
                outcome.error = "a new message inside a fragmented one";
                return outcome;
            }
            if (header.fin) {
                go_on = on_message(header.opcode, payload, length);
            } else {
                fragmented_ = header.opcode;
                fragments_.assign(payload, payload + length);
            }
            break;
        case Opcode::continuation:
            if (fragmented_ == Opcode::continuation) {
                outcome.error = "a continuation with no message begun";
                return outcome;
            }
            if (fragments_.size() + length > max_message_) {
                outcome.error = "a fragmented message over the limit";
                return outcome;
            }
            fragments_.insert(fragments_.end(), payload, payload + length);
            if (header.fin) {
                auto opcode = fragmented_;
                fragmented_ = Opcode::continuation;
                auto message = std::move(fragments_);
                fragments_.clear();
                go_on = on_message(opcode, message.data(), message.size());
            }
            break;
        }
        if (!go_on) {
            outcome.stopped = true;
            return outcome;
        }
    }
    return outcome;
}

std::array<std::uint8_t, 2> close_payload(std::uint16_t code) {
    return {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
}

} // namespace netd::tunnel::frames
