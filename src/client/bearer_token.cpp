#include "netd/client/bearer_token.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace netd::client {

std::optional<std::string> bearer_token(const std::string& token_file) {
    if (token_file.empty()) {
        const char* from_env = std::getenv("NETD_TOKEN");
        return from_env ? from_env : "";
    }
    std::ifstream in(token_file);
    if (!in) return std::nullopt;
    std::string token;
    std::getline(in, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    return token;
}

} // namespace netd::client
