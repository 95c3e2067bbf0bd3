#include "netd/tunnel_caller.hpp"

#include <optional>

#include "netd/error.hpp"

namespace netd::tunnel {
namespace {

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::optional<net::IpAddress> address_of(std::string_view text) {
    try {
        return net::IpAddress::parse(text);
    } catch (const Error&) {
        return std::nullopt;
    }
}

bool trusted_one(const net::IpAddress& address, const std::vector<net::Cidr>& trusted) {
    for (const auto& network : trusted) {
        if (network.contains(address)) return true;
    }
    return false;
}

} // namespace

std::string caller_of(const std::string& peer, std::string_view forwarded_for, const std::vector<net::Cidr>& trusted) {
    auto peer_address = address_of(peer);
    if (!peer_address || !trusted_one(*peer_address, trusted)) return peer;
    while (!forwarded_for.empty()) {
        auto comma = forwarded_for.rfind(',');
        auto entry = trimmed(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
        forwarded_for = comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
        auto address = address_of(entry);
        if (!address) return peer;
        if (!trusted_one(*address, trusted)) return address->to_string();
    }
    return peer;
}

} // namespace netd::tunnel
