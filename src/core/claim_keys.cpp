#include "netd/claim_keys.hpp"

#include <cstdio>

#include "netd/error.hpp"

namespace netd {

std::string range_end_of(std::string prefix) {
    prefix.back() = static_cast<char>(prefix.back() + 1);
    return prefix;
}

ClaimKeys::ClaimKeys(const net::Cidr& pool)
    : prefix_("/netd/v2/" + pool.to_string() + "/blocks/"), v1_prefix_("/netd/v1/" + pool.to_string() + "/blocks/") {
    net::check_family(pool, net::Family::v4, "the shared pool");
}

KeyRange ClaimKeys::all() const { return {prefix_, range_end_of(prefix_)}; }

std::string ClaimKeys::hex_of(std::uint32_t address) const {
    char text[9];
    std::snprintf(text, sizeof text, "%08x", address);
    return text;
}

std::string ClaimKeys::key_of(const net::Cidr& block) const {
    net::check_family(block, net::Family::v4, "a claimed block");
    char length[4];
    std::snprintf(length, sizeof length, "/%02d", block.prefix_len());
    return prefix_ + hex_of(block.network().v4_value()) + length;
}

std::optional<net::Cidr> ClaimKeys::block_of(const std::string& key) const {
    // <8 hex digits>/<2 digits>, nothing more.
    if (key.size() != prefix_.size() + 11 || key.compare(0, prefix_.size(), prefix_) != 0) return std::nullopt;
    auto rest = key.substr(prefix_.size());
    std::uint32_t address = 0;
    for (int i = 0; i < 8; ++i) {
        char c = rest[static_cast<std::size_t>(i)];
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0) return std::nullopt;
        address = address << 4 | static_cast<std::uint32_t>(digit);
    }
    if (rest[8] != '/' || rest[9] < '0' || rest[9] > '9' || rest[10] < '0' || rest[10] > '9') return std::nullopt;
    int prefix_len = (rest[9] - '0') * 10 + (rest[10] - '0');
    try {
        return net::Cidr(net::IpAddress::v4(address), prefix_len);
    } catch (const Error&) {
        return std::nullopt; // host bits set, or a length over 32
    }
}

KeyRange ClaimKeys::starting_inside(const net::Cidr& block) const {
    // "/" sorts just before "0", so <last>"0" ends the range right after
    // every <last>/<length>.
    return {prefix_ + hex_of(block.first().v4_value()), prefix_ + hex_of(block.last().v4_value()) + "0"};
}

std::vector<std::string> ClaimKeys::containing(const net::Cidr& block) const {
    std::vector<std::string> keys;
    for (int length = 0; length < block.prefix_len(); ++length) {
        auto wider = net::Cidr::containing(block.network(), length);
        // One that starts where `block` does is in starting_inside() already.
        if (wider.network() != block.network()) keys.push_back(key_of(wider));
    }
    return keys;
}

} // namespace netd
