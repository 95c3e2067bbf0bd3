#pragma once

#include <optional>
#include <string>

// The bearer token a client of the daemons sends (--token-file), as netctl
// and netd-tunnel both read it.
namespace netd::client {

// The first line of `token_file`, trailing whitespace removed, or
// $NETD_TOKEN (else "") when no file is named; nullopt when the file
// cannot be read, for the caller to say so or not.
std::optional<std::string> bearer_token(const std::string& token_file);

} // namespace netd::client
