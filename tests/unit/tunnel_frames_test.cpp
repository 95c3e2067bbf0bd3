#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "case_name.hpp"
#include "netd/tunnel_frames.hpp"

namespace netd::tunnel::frames {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t limit = 1 << 20;
const MaskKey key{0x12, 0x34, 0x56, 0x78};

struct HeaderCase {
    std::string what;
    Bytes bytes;
    bool expect_masked;
    Parse result;
    Opcode opcode = Opcode::continuation;
    bool fin = false;
    std::size_t header_size = 0;
    std::uint64_t payload_size = 0;
};

class ParseHeader : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(ParseHeader, ReadsOrRefuses) {
    const auto& c = GetParam();
    auto parsed = parse_header(c.bytes.data(), c.bytes.size(), c.expect_masked, limit);
    ASSERT_EQ(parsed.result, c.result) << parsed.why;
    if (c.result == Parse::invalid) {
        EXPECT_FALSE(parsed.why.empty());
        return;
    }
    if (c.result == Parse::incomplete) return;
    EXPECT_EQ(parsed.header.opcode, c.opcode);
    EXPECT_EQ(parsed.header.fin, c.fin);
    EXPECT_EQ(parsed.header.masked, c.expect_masked);
    EXPECT_EQ(parsed.header.header_size, c.header_size);
    EXPECT_EQ(parsed.header.payload_size, c.payload_size);
    if (c.expect_masked) {
        EXPECT_EQ(parsed.header.key, key);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Frames, ParseHeader,
    ::testing::Values(
        HeaderCase{"nothing yet", {}, false, Parse::incomplete},
        HeaderCase{"one byte", {0x82}, false, Parse::incomplete},
        HeaderCase{"16 bit length cut", {0x82, 126, 0x01}, false, Parse::incomplete},
        HeaderCase{"64 bit length cut", {0x82, 127, 0, 0, 0, 0, 0, 1}, false, Parse::incomplete},
        HeaderCase{"mask key cut", {0x82, 0x85, 0x12, 0x34, 0x56}, true, Parse::incomplete},
        HeaderCase{"binary from a server", {0x82, 5}, false, Parse::frame, Opcode::binary, true, 2, 5},
        HeaderCase{"binary from a client", {0x82, 0x85, 0x12, 0x34, 0x56, 0x78}, true, Parse::frame, Opcode::binary,
                   true, 6, 5},
        HeaderCase{"text, not final", {0x01, 3}, false, Parse::frame, Opcode::text, false, 2, 3},
        HeaderCase{"continuation, final", {0x80, 0}, false, Parse::frame, Opcode::continuation, true, 2, 0},
        HeaderCase{"16 bit length", {0x82, 126, 0x01, 0x2c}, false, Parse::frame, Opcode::binary, true, 4, 300},
        HeaderCase{"64 bit length", {0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70}, false, Parse::frame, Opcode::binary,
                   true, 10, 70000},
        HeaderCase{"empty ping", {0x89, 0}, false, Parse::frame, Opcode::ping, true, 2, 0},
        HeaderCase{"close with a code", {0x88, 0x82, 0x12, 0x34, 0x56, 0x78}, true, Parse::frame, Opcode::close, true,
                   6, 2},
        HeaderCase{"reserved bit", {0xc2, 0}, false, Parse::invalid},
        HeaderCase{"reserved data opcode", {0x83, 0}, false, Parse::invalid},
        HeaderCase{"reserved control opcode", {0x8b, 0}, false, Parse::invalid},
        HeaderCase{"fragmented ping", {0x09, 0}, false, Parse::invalid},
        HeaderCase{"ping over 125 bytes", {0x89, 126, 0, 126}, false, Parse::invalid},
        HeaderCase{"16 bit length under 126", {0x82, 126, 0, 100}, false, Parse::invalid},
        HeaderCase{"64 bit length under 65536", {0x82, 127, 0, 0, 0, 0, 0, 0, 0x03, 0xe8}, false, Parse::invalid},
        HeaderCase{"64 bit length top bit", {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, false, Parse::invalid},
        HeaderCase{"unmasked from a client", {0x82, 5}, true, Parse::invalid},
        HeaderCase{"masked from a server", {0x82, 0x85, 1, 2, 3, 4}, false, Parse::invalid},
        HeaderCase{"over the limit", {0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 1}, false, Parse::invalid}),
    cases::ByWhat{});

struct RoundTripCase {
    std::string what;
    Opcode opcode;
    std::uint64_t size;
    bool masked;
    std::size_t header_size;
};

class WriteHeader : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(WriteHeader, ReadsBackTheSame) {
    const auto& c = GetParam();
    std::uint8_t out[max_header];
    auto written = write_header(out, c.opcode, c.size, c.masked, key);
    ASSERT_EQ(written, c.header_size);
    for (std::size_t cut = 0; cut < written; ++cut) {
        EXPECT_EQ(parse_header(out, cut, c.masked, limit).result, Parse::incomplete) << "cut at " << cut;
    }
    auto parsed = parse_header(out, written, c.masked, limit);
    ASSERT_EQ(parsed.result, Parse::frame) << parsed.why;
    EXPECT_EQ(parsed.header.opcode, c.opcode);
    EXPECT_TRUE(parsed.header.fin);
    EXPECT_EQ(parsed.header.header_size, written);
    EXPECT_EQ(parsed.header.payload_size, c.size);
    if (c.masked) {
        EXPECT_EQ(parsed.header.key, key);
    }
}

INSTANTIATE_TEST_SUITE_P(Frames, WriteHeader,
                         ::testing::Values(RoundTripCase{"empty", Opcode::binary, 0, false, 2},
                                           RoundTripCase{"125 masked", Opcode::binary, 125, true, 6},
                                           RoundTripCase{"126", Opcode::binary, 126, false, 4},
                                           RoundTripCase{"65535 masked", Opcode::text, 65535, true, 8},
                                           RoundTripCase{"65536", Opcode::binary, 65536, false, 10},
                                           RoundTripCase{"1 MiB masked", Opcode::binary, limit, true, 14},
                                           RoundTripCase{"pong", Opcode::pong, 4, true, 6},
                                           RoundTripCase{"close", Opcode::close, 2, false, 2}),
                         cases::ByWhat{});

// Masking eight bytes at a time gives what the RFC's byte-at-a-time
// definition gives, from any offset into the payload, and undoes itself.
TEST(ApplyMask, IsTheRfcsXorFromAnyOffset) {
    for (std::size_t size : {0u, 1u, 3u, 7u, 8u, 9u, 31u, 1500u}) {
        for (std::size_t offset : {0u, 1u, 2u, 3u, 5u}) {
            Bytes data(size);
            for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 1);
            auto expected = data;
            for (std::size_t i = 0; i < size; ++i) expected[i] ^= key[(offset + i) % 4];
            auto masked = data;
            apply_mask(masked.data(), masked.size(), key, offset);
            EXPECT_EQ(masked, expected) << size << " bytes from offset " << offset;
            apply_mask(masked.data(), masked.size(), key, offset);
            EXPECT_EQ(masked, data) << size << " bytes from offset " << offset;
        }
    }
}

// A payload masked in two pieces, the second from where the first ended,
// is the payload masked at once: what a reader does with a frame that
// arrives in pieces.
TEST(ApplyMask, InPiecesIsAtOnce) {
    Bytes data(100);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
    auto whole = data, pieces = data;
    apply_mask(whole.data(), whole.size(), key);
    apply_mask(pieces.data(), 37, key);
    apply_mask(pieces.data() + 37, 63, key, 37);
    EXPECT_EQ(pieces, whole);
}

// A frame as a peer would send it: final or not, masked or not.
Bytes frame(Opcode opcode, const std::string& payload, bool fin, bool masked) {
    std::uint8_t header[max_header];
    auto n = write_header(header, opcode, payload.size(), masked, key);
    if (!fin) header[0] &= 0x7f;
    Bytes out(header, header + n);
    Bytes body(payload.begin(), payload.end());
    if (masked) apply_mask(body.data(), body.size(), key);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

struct Message {
    Opcode opcode;
    std::string data;
    friend bool operator==(const Message&, const Message&) = default;
};

std::ostream& operator<<(std::ostream& out, const Message& message) {
    return out << static_cast<int>(message.opcode) << ":" << message.data;
}

struct ReaderCase {
    std::string what;
    std::vector<Bytes> frames;
    bool masked; // the frames', and what the reader expects
    std::vector<Message> messages;
    bool broken = false;
};

// Reads the frames arriving `piece` bytes at a time, as a link's buffer
// fills: what the reader handed on, and whether it found the framing broken.
std::pair<std::vector<Message>, bool> read_in_pieces(const ReaderCase& c, std::size_t piece) {
    Bytes stream;
    for (const auto& f : c.frames) stream.insert(stream.end(), f.begin(), f.end());
    Reader reader(c.masked, 64);
    Bytes buffer;
    std::vector<Message> got;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
        buffer.insert(buffer.end(), stream.begin() + static_cast<long>(at),
                      stream.begin() + static_cast<long>(std::min(at + piece, stream.size())));
        auto outcome = reader.read(buffer.data(), buffer.size(), [&](Opcode opcode, const std::uint8_t* data, std::size_t n) {
            got.push_back({opcode, std::string(data, data + n)});
            return true;
        });
        if (!outcome.error.empty()) return {got, true};
        EXPECT_LE(outcome.consumed, buffer.size());
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(outcome.consumed));
        if (outcome.need) {
            EXPECT_GT(outcome.need, buffer.size());
        }
    }
    EXPECT_TRUE(buffer.empty()) << "whole frames were left unread";
    return {got, false};
}

class ReadMessages : public ::testing::TestWithParam<ReaderCase> {};

TEST_P(ReadMessages, AtOnceAndByteByByte) {
    const auto& c = GetParam();
    for (std::size_t piece : {std::size_t{1000}, std::size_t{1}, std::size_t{3}}) {
        auto [messages, broken] = read_in_pieces(c, piece);
        EXPECT_EQ(broken, c.broken) << piece << " bytes at a time";
        EXPECT_EQ(messages, c.messages) << piece << " bytes at a time";
    }
}

const Opcode bin = Opcode::binary, txt = Opcode::text, cont = Opcode::continuation;

INSTANTIATE_TEST_SUITE_P(
    Frames, ReadMessages,
    ::testing::Values(
        ReaderCase{"one message from a server", {frame(bin, "abc", true, false)}, false, {{bin, "abc"}}},
        ReaderCase{"one message from a client, unmasked", {frame(bin, "abc", true, true)}, true, {{bin, "abc"}}},
        ReaderCase{"an empty message", {frame(bin, "", true, true)}, true, {{bin, ""}}},
        ReaderCase{"two messages back to back",
                   {frame(bin, "one", true, false), frame(txt, "two", true, false)},
                   false,
                   {{bin, "one"}, {txt, "two"}}},
        ReaderCase{"a message in three fragments",
                   {frame(txt, "he", false, true), frame(cont, "ll", false, true), frame(cont, "o", true, true)},
                   true,
                   {{txt, "hello"}}},
        ReaderCase{"a ping between fragments comes first",
                   {frame(bin, "ab", false, false), frame(Opcode::ping, "x", true, false), frame(cont, "cd", true, false)},
                   false,
                   {{Opcode::ping, "x"}, {bin, "abcd"}}},
        ReaderCase{"a close with its code",
                   {frame(Opcode::close, std::string("\x03\xe8", 2), true, true)},
                   true,
                   {{Opcode::close, std::string("\x03\xe8", 2)}}},
        ReaderCase{"a continuation with nothing begun", {frame(cont, "x", true, false)}, false, {}, true},
        ReaderCase{"a message inside a fragmented one",
                   {frame(bin, "a", false, false), frame(bin, "b", true, false)},
                   false,
                   {},
                   true},
        ReaderCase{"fragments over the limit",
                   {frame(bin, std::string(40, 'a'), false, false), frame(cont, std::string(40, 'b'), true, false)},
                   false,
                   {},
                   true},
        ReaderCase{"a frame over the limit", {frame(bin, std::string(65, 'a'), true, false)}, false, {}, true},
        ReaderCase{"an unmasked frame to a server", {frame(bin, "abc", true, false)}, true, {}, true},
        ReaderCase{"what came before a broken frame is handed on",
                   {frame(bin, "ok", true, false), frame(cont, "x", true, false)},
                   false,
                   {{bin, "ok"}},
                   true}),
    cases::ByWhat{});

// A reader told to stop reads no further, and says so.
TEST(ReadMessages, StopsWhenTold) {
    Bytes stream = frame(bin, "one", true, false), second = frame(bin, "two", true, false);
    stream.insert(stream.end(), second.begin(), second.end());
    Reader reader(false, 64);
    int calls = 0;
    auto outcome = reader.read(stream.data(), stream.size(), [&](Opcode, const std::uint8_t*, std::size_t) {
        ++calls;
        return false;
    });
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(outcome.stopped);
    EXPECT_EQ(outcome.consumed, stream.size() - second.size());
}

// The whole size of a frame whose header is in but not its payload: what
// the link's buffer must grow to.
TEST(ReadMessages, SaysWhatALargeFrameNeeds) {
    std::uint8_t header[max_header];
    auto n = write_header(header, bin, 70000, false, key);
    Reader reader(false, limit);
    auto outcome = reader.read(header, n, [](Opcode, const std::uint8_t*, std::size_t) { return true; });
    EXPECT_TRUE(outcome.error.empty());
    EXPECT_EQ(outcome.consumed, 0u);
    EXPECT_EQ(outcome.need, n + 70000);
}

TEST(ClosePayload, IsTheCodeBigEndian) {
    auto payload = close_payload(1000);
    EXPECT_EQ(payload[0], 0x03);
    EXPECT_EQ(payload[1], 0xe8);
}

} // namespace
} // namespace netd::tunnel::frames
