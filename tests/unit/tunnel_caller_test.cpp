#include <gtest/gtest.h>

#include "case_name.hpp"
#include "netd/tunnel_caller.hpp"

namespace netd::tunnel {
namespace {

struct CallerCase {
    const char* what;
    const char* peer;
    const char* forwarded_for;
    const char* caller;
};

class Caller : public testing::TestWithParam<CallerCase> {};

TEST_P(Caller, IsThePeerUnlessATrustedProxySaysWho) {
    std::vector<net::Cidr> trusted{net::Cidr::parse("127.0.0.1/32"), net::Cidr::parse("10.5.0.0/24"),
                                   net::Cidr::parse("::1/128")};
    EXPECT_EQ(caller_of(GetParam().peer, GetParam().forwarded_for, trusted), GetParam().caller);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Caller,
    testing::Values(
        CallerCase{"an untrusted peer is the caller, whatever it says", "10.9.0.7", "1.2.3.4", "10.9.0.7"},
        CallerCase{"a trusted proxy without the header is the caller", "127.0.0.1", "", "127.0.0.1"},
        CallerCase{"a trusted proxy names the caller", "127.0.0.1", "192.0.2.8", "192.0.2.8"},
        CallerCase{"the proxy's own entry, last, not what the client wrote", "127.0.0.1", "6.6.6.6, 192.0.2.8",
                   "192.0.2.8"},
        CallerCase{"a chain of trusted proxies is skipped from the right", "127.0.0.1",
                   "6.6.6.6, 192.0.2.8, 10.5.0.3", "192.0.2.8"},
        CallerCase{"spaces and tabs around entries", "127.0.0.1", " 192.0.2.8 \t", "192.0.2.8"},
        CallerCase{"an entry that is not an address: the peer", "127.0.0.1", "192.0.2.8, unknown", "127.0.0.1"},
        CallerCase{"an empty entry: the peer", "127.0.0.1", "192.0.2.8,", "127.0.0.1"},
        CallerCase{"trusted proxies only: the peer", "127.0.0.1", "10.5.0.1, 10.5.0.2", "127.0.0.1"},
        CallerCase{"IPv6, on either side", "::1", "2001:db8::5", "2001:db8::5"},
        CallerCase{"a peer that is not an address at all", "?", "192.0.2.8", "?"}),
    netd::cases::ByWhat{});

} // namespace
} // namespace netd::tunnel
