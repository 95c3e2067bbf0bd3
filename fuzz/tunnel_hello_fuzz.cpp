// The hello a netd-tunnel client reads from its server (tunnel_forwarding.hpp):
// any text either is refused with netd::Error(invalid), or gives a hello
// that prints back to text the client reads as the same hello.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "netd/error.hpp"
#include "netd/tunnel_forwarding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    netd::tunnel::Hello hello;
    try {
        hello = netd::tunnel::parse_hello(text);
    } catch (const netd::Error& error) {
        if (error.code() != netd::ErrorCode::invalid) std::abort();
        return 0;
    }
    if (hello.mtu < 576 || hello.mtu > 65535) std::abort();
    if (netd::tunnel::parse_hello(netd::tunnel::to_json(hello)) != hello) std::abort();
    return 0;
}
