#pragma once

#include <functional>

#include "netd/error.hpp"

namespace netd::testing {

// The code of the netd::Error that `call` throws; a test failure when it
// throws none.
ErrorCode code_of(const std::function<void()>& call);

} // namespace netd::testing
