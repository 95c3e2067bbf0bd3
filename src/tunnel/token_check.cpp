#include "netd/tunnel/token_check.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace netd::tunnel {
namespace {

std::array<unsigned char, 32> digest(const EVP_MD* type, std::string_view text) {
    std::array<unsigned char, 32> out{};
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &size, type, nullptr);
    return out;
}

int nibble(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

} // namespace

TokenCheck::TokenCheck(const std::vector<ClientEntry>& clients) {
    for (const auto& client : clients) {
        Known known{client.token.kind, {}};
        for (std::size_t i = 0; i + 1 < client.token.hex.size(); i += 2) {
            known.hash[i / 2] = static_cast<unsigned char>(nibble(client.token.hex[i]) << 4 | nibble(client.token.hex[i + 1]));
        }
        known_.push_back(known);
    }
}

std::optional<std::size_t> TokenCheck::client_of(std::string_view token) const {
    auto sha1 = digest(EVP_sha1(), token);
    auto sha256 = digest(EVP_sha256(), token);
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < known_.size(); ++i) {
        bool is_sha1 = known_[i].kind == TokenHash::Kind::sha1;
        const auto& mine = is_sha1 ? sha1 : sha256;
        if (CRYPTO_memcmp(mine.data(), known_[i].hash.data(), is_sha1 ? 20 : 32) == 0) found = i;
    }
    return found;
}

} // namespace netd::tunnel
