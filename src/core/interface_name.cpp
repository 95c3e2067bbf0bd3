#include "netd/net/interface_name.hpp"

#include <string>

#include "netd/error.hpp"

namespace netd::net {

void validate_interface_name(std::string_view name) {
    // Quoted with what cannot be printed (a NUL ends what() early) as '?'.
    std::string shown(name.substr(0, 32));
    for (auto& c : shown) {
        if (c < 0x20 || c >= 0x7f) c = '?';
    }
    auto quoted = "interface name \"" + shown + "\"";
    if (name.empty()) fail(ErrorCode::invalid, "interface name must not be empty");
    if (name.size() > max_interface_name) {
        fail(ErrorCode::invalid, quoted + " is " + std::to_string(name.size()) +
                                     " characters long; the kernel allows at most 15");
    }
    // "all" and "default" name the per-protocol settings of every interface
    // (/proc/sys/net/ipv4/conf/all), not one of them.
    if (name == "." || name == ".." || name == "all" || name == "default") {
        fail(ErrorCode::invalid, quoted + " is reserved");
    }
    // A leading '-' reads as an option to every tool the name is passed to.
    if (name.front() == '-') fail(ErrorCode::invalid, quoted + " must not begin with '-'");
    for (char c : name) {
        // '%' is a template to the kernel: "tun%d" becomes the next free tunN,
        // not the name asked for.
        if (c == '/' || c == ':' || c == '%') {
            fail(ErrorCode::invalid, quoted + " must not contain '" + std::string(1, c) + "'");
        }
        // White space and control characters break tools that split on them;
        // the kernel refuses white space outright.
        if (c <= 0x20 || c >= 0x7f) {
            fail(ErrorCode::invalid, quoted + " must hold printable ASCII characters only, no spaces");
        }
    }
}

} // namespace netd::net
