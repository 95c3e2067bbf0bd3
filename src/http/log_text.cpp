#include "netd/http/log_text.hpp"

#include <cstdio>

namespace netd::http {

std::string loggable(std::string_view text, std::size_t limit) {
    std::string out;
    std::size_t used = 0;
    for (; used < text.size(); ++used) {
        auto byte = static_cast<unsigned char>(text[used]);
        char piece[5] = {static_cast<char>(byte), 0, 0, 0, 0};
        switch (byte) {
        case '\\': piece[1] = '\\'; break;
        case '\n': piece[0] = '\\', piece[1] = 'n'; break;
        case '\r': piece[0] = '\\', piece[1] = 'r'; break;
        case '\t': piece[0] = '\\', piece[1] = 't'; break;
        default:
            if (byte < 0x20 || byte >= 0x7f) std::snprintf(piece, sizeof piece, "\\x%02x", byte);
        }
        std::string_view escaped(piece); // NUL was escaped, so this is never empty
        if (out.size() + escaped.size() > limit) break;
        out += escaped;
    }
    if (used < text.size()) out += "...[+" + std::to_string(text.size() - used) + " bytes]";
    return out;
}

} // namespace netd::http
