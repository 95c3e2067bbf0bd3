#pragma once

#include "netd/error.hpp"
#include "netd/http/router.hpp"

namespace netd::http {

// The one mapping from a typed error to an HTTP status and its JSON body,
// {"error":{"code":"conflict","message":"..."}}. An internal error's message
// stays in the log; the client gets a short, fixed one.
status status_of(ErrorCode code);
Response error_response(const Error& error);
// The same response without its log line, for a refusal whose logging the
// caller bounds (the connection budget's 503: a line per episode, not one per
// connection).
Response unlogged_error_response(const Error& error);

} // namespace netd::http
