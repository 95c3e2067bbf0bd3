// Any text either fails to parse with netd::Error(invalid), or parses to a
// value whose text parses back to the same value, for all three types and
// both families. IPv4 accepts only its canonical text; IPv6 accepts every
// RFC 4291 form, and what it prints is RFC 5952's one canonical form.

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "netd/error.hpp"
#include "netd/net/ip.hpp"

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
    auto canonical = value.to_string();
    if (T::parse(canonical) != value) std::abort();
    if (T::parse(canonical).to_string() != canonical) std::abort();
    if (value.family() == netd::net::Family::v4 && canonical != text) std::abort();
    // RFC 5952: lower case, and no group with a leading zero.
    auto address = std::string_view(canonical).substr(0, canonical.find('/'));
    for (std::size_t start = 0; start <= address.size();) {
        auto end = std::min(address.find(':', start), address.size());
        auto group = address.substr(start, end - start);
        bool dotted = group.find('.') != std::string_view::npos;
        if (!dotted && group.size() > 1 && group[0] == '0') std::abort();
        for (char c : group) {
            if (c >= 'A' && c <= 'Z') std::abort();
        }
        start = end + 1;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    round_trip<netd::net::IpAddress>(text);
    round_trip<netd::net::Cidr>(text);
    round_trip<netd::net::InterfaceAddress>(text);
    return 0;
}
