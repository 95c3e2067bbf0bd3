#include "error_code.hpp"

#include <gtest/gtest.h>

namespace netd::testing {

ErrorCode code_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const Error& error) {
        return error.code();
    }
    ADD_FAILURE() << "no error";
    return ErrorCode::internal;
}

} // namespace netd::testing
