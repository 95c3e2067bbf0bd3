// Any text either fails to parse with netd::Error(invalid), or parses to a
// value whose text parses back to the same value, for all three types.

#include <cstdlib>
#include <string_view>

#include "netd/error.hpp"
#include "netd/net/ipv4.hpp"

namespace {

template <typename T>
void round_trip(std::string_view text) {
    T value;
    try {
        value = T::parse(text);
    } catch (const netd::Error& error) {
        if (error.code() != netd::ErrorCode::invalid) std::abort();
        return;
    }
    if (T::parse(value.to_string()) != value) std::abort();
    // Strict parsing: only the canonical text is accepted.
    if (value.to_string() != text) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    round_trip<netd::net::Ipv4>(text);
    round_trip<netd::net::Cidr>(text);
    round_trip<netd::net::InterfaceAddress>(text);
    return 0;
}
