#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "netd/tunnel_config.hpp"

// Which client a token is: its SHA-1 and SHA-256 against every client's
// hash, each compared in constant time and all of them every time, so that
// neither the time nor the order tells an attacker anything.
namespace netd::tunnel {

class TokenCheck {
public:
    explicit TokenCheck(const std::vector<ClientEntry>& clients);
    std::optional<std::size_t> client_of(std::string_view token) const;

private:
    struct Known {
        TokenHash::Kind kind;
        std::array<unsigned char, 32> hash{};
    };
    std::vector<Known> known_;
};

} // namespace netd::tunnel
