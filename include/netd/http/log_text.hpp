#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace netd::http {

// How many bytes of what a client sent may reach one log line.
inline constexpr std::size_t loggable_bytes = 128;

// `text` that a client chose (a target, a method, a name) made fit for one
// log line. Control characters, bytes outside printable ASCII and the
// backslash are escaped (\n, \x1b, \\), so that a client can neither forge
// a line nor send escape sequences to whoever tails the log; and the result
// is cut at `limit` bytes with a marker saying how much was left out
// ("/tun/aaaa...[+7000 bytes]"), so that a client cannot make lines long.
std::string loggable(std::string_view text, std::size_t limit = loggable_bytes);

} // namespace netd::http
