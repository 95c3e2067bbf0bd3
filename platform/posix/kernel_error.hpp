#pragma once

#include <string>

#include "netd/error.hpp"

namespace netd::platform {

// A kernel refusal, with its errno kept for callers that treat one specially
// (EOPNOTSUPP from a missing link type, say), and mapped to the error code
// the API answers with: EEXIST/EBUSY conflict, ENODEV/ENOENT/EADDRNOTAVAIL
// not found, EPERM/EACCES unavailable (with a word on privileges).
class KernelError : public Error {
public:
    KernelError(int error_number, const std::string& operation);
    int error_number() const { return errno_; }

private:
    int errno_;
};

[[noreturn]] void fail_errno(int error_number, const std::string& operation);

} // namespace netd::platform
