#include "netd/net/interface_name.hpp"

#include <string>

#include "netd/error.hpp"

namespace netd::net {

void validate_interface_name(std::string_view name) {
    auto quoted = "interface name \"" + std::string(name.substr(0, 32)) + "\"";
    if (name.empty()) fail(ErrorCode::invalid, "interface name must not be empty");
    if (name.size() > max_interface_name) {
        fail(ErrorCode::invalid, quoted + " is " + std::to_string(name.size()) +
                                     " characters long; the kernel allows at most 15");
    }
    if (name == "." || name == "..") fail(ErrorCode::invalid, quoted + " is reserved");
    for (char c : name) {
        if (c == '/' || c == ':') fail(ErrorCode::invalid, quoted + " must not contain '" + std::string(1, c) + "'");
        // White space and control characters break tools that split on them;
        // the kernel refuses white space outright.
        if (c <= 0x20 || c >= 0x7f) {
            fail(ErrorCode::invalid, quoted + " must hold printable ASCII characters only, no spaces");
        }
    }
}

} // namespace netd::net
