#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace netd {

// What went wrong, in terms a client can act on. The HTTP layer maps each
// code to a status in exactly one place (http/error_mapping.cpp).
enum class ErrorCode {
    invalid,            // the request itself is wrong: bad JSON, name, CIDR
    unauthorized,       // a token is required and was missing or wrong
    forbidden,          // a Host, Origin or fetch site the API does not serve
    not_found,          // no such route, interface or subnet (or not ours)
    method_not_allowed, // the path exists but not with this method
    conflict,           // name taken, range overlaps, pool exhausted
    too_large,          // body over the limit
    headers_too_large,  // request headers over the limit
    unsupported_media,  // a body that is not application/json
    unavailable,        // the kernel or a capability is out of reach
    busy,               // another process holds what this needs, for now: the
                        // server tries again shortly, then answers 503
    internal,           // a bug; details go to the error log only
};

std::string_view to_string(ErrorCode code);

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, std::string message)
        : std::runtime_error(std::move(message)), code_(code) {}

    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

[[noreturn]] inline void fail(ErrorCode code, std::string message) {
    throw Error(code, std::move(message));
}

} // namespace netd
