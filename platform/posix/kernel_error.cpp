#include "kernel_error.hpp"

#include <cerrno>
#include <cstring>

namespace netd::platform {
namespace {

ErrorCode code_of(int error_number) {
    switch (error_number) {
    case EPERM:
    case EACCES: return ErrorCode::unavailable;
    case EEXIST:
    case EBUSY: return ErrorCode::conflict;
    case ENODEV:
    case ENOENT:
    case EADDRNOTAVAIL: return ErrorCode::not_found;
    default: return ErrorCode::internal;
    }
}

std::string message_of(int error_number, const std::string& operation) {
    if (error_number == EPERM || error_number == EACCES) {
        return operation + ": permission denied; netd needs to run as root (CAP_NET_ADMIN on Linux)";
    }
    return operation + ": " + std::strerror(error_number);
}

} // namespace

KernelError::KernelError(int error_number, const std::string& operation)
    : Error(code_of(error_number), message_of(error_number, operation)), errno_(error_number) {}

void fail_errno(int error_number, const std::string& operation) { throw KernelError(error_number, operation); }

} // namespace netd::platform
