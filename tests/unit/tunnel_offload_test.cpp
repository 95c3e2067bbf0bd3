#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "case_name.hpp"
#include "netd/tunnel_offload.hpp"
#include "netd/tunnel_wire.hpp"

namespace netd::tunnel {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put16(Bytes& b, std::size_t at, unsigned v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}
unsigned get16(const std::uint8_t* at) { return (at[0] << 8) | at[1]; }
std::uint32_t get32(const std::uint8_t* at) {
    return (std::uint32_t{at[0]} << 24) | (std::uint32_t{at[1]} << 16) | (std::uint32_t{at[2]} << 8) | at[3];
}

constexpr std::uint8_t ack = 0x10, psh = 0x08, fin = 0x01, cwr = 0x80;

// An IPv4 or IPv6 TCP packet with `payload` bytes (0, 1, 2...) and a TCP
// header of `options` extra bytes, as a TUN with offloads hands it over: the
// TCP checksum field holds the pseudo-header's sum (NEEDS_CSUM).
Bytes tcp_packet(int version, std::size_t payload, std::uint8_t flags, std::size_t options = 0) {
    std::size_t ip = version == 4 ? 20 : 40, tcp = 20 + options, size = ip + tcp + payload;
    Bytes p(size, 0);
    if (version == 4) {
        p[0] = 0x45;
        put16(p, 2, static_cast<unsigned>(size));
        put16(p, 4, 0x1234);
        p[8] = 64;
        p[9] = 6;
        p[12] = 10, p[13] = 50, p[14] = 0, p[15] = 1;
        p[16] = 10, p[17] = 50, p[18] = 0, p[19] = 2;
    } else {
        p[0] = 0x60;
        put16(p, 4, static_cast<unsigned>(size - 40));
        p[6] = 6;
        p[7] = 64;
        p[8] = 0xfd, p[23] = 1;
        p[24] = 0xfd, p[39] = 2;
    }
    put16(p, ip, 40000);
    put16(p, ip + 2, 5201);
    p[ip + 4] = 0xff, p[ip + 5] = 0xff, p[ip + 6] = 0xf0, p[ip + 7] = 0x00; // wraps past 2^32
    p[ip + 12] = static_cast<std::uint8_t>((tcp / 4) << 4);
    p[ip + 13] = flags;
    for (std::size_t i = 0; i < options; ++i) p[ip + 20 + i] = 1; // NOPs
    for (std::size_t i = 0; i < payload; ++i) p[ip + tcp + i] = static_cast<std::uint8_t>(i);
    std::uint32_t pseudo = 6 + static_cast<std::uint32_t>(tcp + payload);
    pseudo += version == 4 ? ones_complement_sum(p.data() + 12, 8) : ones_complement_sum(p.data() + 8, 32);
    put16(p, ip + 16, ones_complement_sum(nullptr, 0, pseudo));
    if (version == 4) put16(p, 10, static_cast<std::uint16_t>(~ones_complement_sum(p.data(), 20)));
    return p;
}

Bytes record(const Bytes& packet, std::uint8_t flags, std::uint8_t gso_type, unsigned gso_size, unsigned csum_start,
             unsigned csum_offset) {
    Bytes r(offload_header + packet.size(), 0);
    std::copy(packet.begin(), packet.end(), r.begin() + offload_header);
    r[0] = flags, r[1] = gso_type;
    r[4] = static_cast<std::uint8_t>(gso_size), r[5] = static_cast<std::uint8_t>(gso_size >> 8);
    r[6] = static_cast<std::uint8_t>(csum_start), r[7] = static_cast<std::uint8_t>(csum_start >> 8);
    r[8] = static_cast<std::uint8_t>(csum_offset);
    return r;
}

std::vector<Bytes> finish(const Bytes& r, bool& ok) {
    std::vector<Bytes> out;
    std::vector<std::uint8_t> scratch;
    ok = finish_offloads(r.data(), r.size(), scratch,
                         [&](const std::uint8_t* p, std::size_t n) { out.emplace_back(p, p + n); });
    return out;
}

// The checksums a receiver checks, and what it reads of each packet.
void expect_valid(const Bytes& p, int version, const std::string& what) {
    std::size_t ip = version == 4 ? 20 : 40;
    if (version == 4) {
        EXPECT_EQ(ones_complement_sum(p.data(), 20), 0xffff) << what << ": IPv4 header checksum";
        EXPECT_EQ(get16(p.data() + 2), p.size()) << what << ": IPv4 total length";
    } else {
        EXPECT_EQ(get16(p.data() + 4), p.size() - 40) << what << ": IPv6 payload length";
    }
    std::uint32_t pseudo = 6 + static_cast<std::uint32_t>(p.size() - ip);
    pseudo += version == 4 ? ones_complement_sum(p.data() + 12, 8) : ones_complement_sum(p.data() + 8, 32);
    EXPECT_EQ(ones_complement_sum(p.data() + ip, p.size() - ip, pseudo), 0xffff) << what << ": TCP checksum";
}

struct SegmentCase {
    const char* what;
    int version;
    std::size_t payload, options;
    unsigned mss;
    std::size_t pieces;
};

class Segmenting : public testing::TestWithParam<SegmentCase> {};

TEST_P(Segmenting, CutsAtTheSendersSizeWithEveryFieldRight) {
    auto [what, version, payload, options, mss, pieces] = GetParam();
    auto packet = tcp_packet(version, payload, ack | psh | fin | cwr, options);
    std::size_t ip = version == 4 ? 20 : 40, headers = ip + 20 + options;
    auto gso = static_cast<std::uint8_t>(version == 4 ? OffloadHeader::gso_tcpv4 : OffloadHeader::gso_tcpv6);
    bool ok = false;
    auto out = finish(record(packet, OffloadHeader::needs_csum, gso, mss, static_cast<unsigned>(ip), 16), ok);
    ASSERT_TRUE(ok) << what;
    ASSERT_EQ(out.size(), pieces) << what;
    Bytes joined;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto& p = out[i];
        auto label = std::string(what) + ", piece " + std::to_string(i);
        bool last = i + 1 == out.size();
        EXPECT_EQ(p.size(), headers + (last ? payload - i * mss : mss)) << label;
        expect_valid(p, version, label);
        if (version == 4) {
            EXPECT_EQ(get16(p.data() + 4), 0x1234 + i) << label << ": IPv4 id";
        }
        EXPECT_EQ(get32(p.data() + ip + 4), static_cast<std::uint32_t>(0xfffff000u + i * mss)) << label << ": seq";
        std::uint8_t flags = p[ip + 13];
        EXPECT_EQ(flags & ack, ack) << label;
        EXPECT_EQ((flags & (psh | fin)) != 0, last) << label << ": PSH and FIN on the last only";
        EXPECT_EQ((flags & cwr) != 0, i == 0) << label << ": CWR on the first only";
        // Addresses, ports and options untouched.
        auto same = [&](std::size_t from, std::size_t to) {
            return std::equal(p.begin() + static_cast<long>(from), p.begin() + static_cast<long>(to),
                              packet.begin() + static_cast<long>(from));
        };
        EXPECT_TRUE(same(version == 4 ? 12 : 8, ip) && same(ip, ip + 4) && same(ip + 20, headers)) << label;
        joined.insert(joined.end(), p.begin() + static_cast<long>(headers), p.end());
    }
    EXPECT_EQ(joined, Bytes(packet.begin() + static_cast<long>(headers), packet.end())) << what << ": the payload";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Segmenting,
    testing::Values(SegmentCase{"IPv4, three pieces, the last short", 4, 3000, 0, 1400, 3},
                    SegmentCase{"IPv4, exact multiple", 4, 2800, 0, 1400, 2},
                    SegmentCase{"IPv4, TCP options (timestamps)", 4, 5000, 12, 1388, 4},
                    SegmentCase{"IPv4, 64 KiB in 45 pieces", 4, 65000, 12, 1448, 45},
                    SegmentCase{"IPv6, three pieces", 6, 3000, 0, 1380, 3},
                    SegmentCase{"IPv6, options, odd sizes", 6, 4001, 12, 999, 5},
                    SegmentCase{"one piece only", 4, 100, 0, 1400, 1},
                    SegmentCase{"the smallest segments a kernel makes (48)", 4, 1000, 0, 48, 21}),
    netd::cases::ByWhat{});

TEST(FinishOffloads, CompletesAChecksumLeftForTheNic) {
    for (int version : {4, 6}) {
        auto packet = tcp_packet(version, 333, ack);
        unsigned ip = version == 4 ? 20 : 40;
        bool ok = false;
        auto out = finish(record(packet, OffloadHeader::needs_csum, OffloadHeader::gso_none, 0, ip, 16), ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(out.size(), 1u);
        expect_valid(out[0], version, "IPv" + std::to_string(version));
    }
}

TEST(FinishOffloads, PassesAPlainPacketAsItIs) {
    auto packet = tcp_packet(4, 50, ack);
    bool ok = false;
    auto out = finish(record(packet, 0, OffloadHeader::gso_none, 0, 0, 0), ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], packet);
}

struct RefusedCase {
    const char* what;
    Bytes record;
};

class Refusing : public testing::TestWithParam<RefusedCase> {};

TEST_P(Refusing, EmitsNothing) {
    bool ok = true;
    auto out = finish(GetParam().record, ok);
    EXPECT_FALSE(ok) << GetParam().what;
    EXPECT_TRUE(out.empty()) << GetParam().what;
}

Bytes truncated(Bytes b, std::size_t size) {
    b.resize(size);
    return b;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Refusing,
    testing::Values(
        RefusedCase{"UDP fragmentation offload", record(tcp_packet(4, 3000, ack), 1, OffloadHeader::gso_udp, 1400, 20, 6)},
        RefusedCase{"a TCPv4 type on an IPv6 packet", record(tcp_packet(6, 3000, ack), 1, OffloadHeader::gso_tcpv4, 1400, 40, 16)},
        RefusedCase{"a TCPv6 type on an IPv4 packet", record(tcp_packet(4, 3000, ack), 1, OffloadHeader::gso_tcpv6, 1400, 20, 16)},
        RefusedCase{"a TCP start that is not the IPv4 header's end", record(tcp_packet(4, 3000, ack), 1, OffloadHeader::gso_tcpv4, 1400, 24, 16)},
        RefusedCase{"a segment size of 0", record(tcp_packet(4, 3000, ack), 1, OffloadHeader::gso_tcpv4, 0, 20, 16)},
        RefusedCase{"a segment size under any kernel's minimum MSS (48)", record(tcp_packet(4, 3000, ack), 1, OffloadHeader::gso_tcpv4, 47, 20, 16)},
        RefusedCase{"a checksum field past the end", record(tcp_packet(4, 10, ack), 1, OffloadHeader::gso_none, 0, 20, 200)},
        RefusedCase{"a packet cut inside its TCP header", truncated(record(tcp_packet(4, 3000, ack), 1, OffloadHeader::gso_tcpv4, 1400, 20, 16), offload_header + 30)},
        RefusedCase{"shorter than the offload header", Bytes(5, 0)},
        RefusedCase{"an IPv6 segment of 5 bytes", truncated(record(tcp_packet(6, 3000, ack), 1, OffloadHeader::gso_tcpv6, 1400, 40, 16), offload_header + 5)},
        RefusedCase{"an IPv4 segment of 8 bytes", truncated(record(tcp_packet(4, 3000, ack), 1, OffloadHeader::gso_tcpv4, 1400, 20, 16), offload_header + 8)},
        RefusedCase{"an IPv6 extension header before TCP", record(tcp_packet(6, 3000, ack), 1, OffloadHeader::gso_tcpv6, 1400, 48, 16)}),
    netd::cases::ByWhat{});

} // namespace
} // namespace netd::tunnel
