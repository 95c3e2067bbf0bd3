#pragma once

#include <string_view>

namespace netd::net {

// The longest interface name the kernel takes (IFNAMSIZ - 1).
inline constexpr std::size_t max_interface_name = 15;

// Throws invalid, saying why, unless `name` is one the kernel accepts: 1 to 15
// printable ASCII characters, no '/', ':' or white space, and not "." or "..".
void validate_interface_name(std::string_view name);

} // namespace netd::net
