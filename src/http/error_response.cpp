#include "netd/http/error_response.hpp"

#include <spdlog/spdlog.h>

#include "netd/http/log_text.hpp"

namespace netd::http {
namespace {

// A message is the daemon's own words, but it may quote what a client sent
// (a name, an address): escaped, and bounded more loosely than a target.
constexpr std::size_t logged_message_bytes = 1024;

} // namespace

status status_of(ErrorCode code) {
    switch (code) {
    case ErrorCode::invalid: return status::bad_request;
    case ErrorCode::unauthorized: return status::unauthorized;
    case ErrorCode::forbidden: return status::forbidden;
    case ErrorCode::not_found: return status::not_found;
    case ErrorCode::method_not_allowed: return status::method_not_allowed;
    case ErrorCode::conflict: return status::conflict;
    case ErrorCode::too_large: return status::payload_too_large;
    case ErrorCode::headers_too_large: return status::request_header_fields_too_large;
    case ErrorCode::unsupported_media: return status::unsupported_media_type;
    case ErrorCode::unavailable: return status::service_unavailable;
    case ErrorCode::busy: return status::service_unavailable;
    case ErrorCode::internal: return status::internal_server_error;
    }
    return status::internal_server_error;
}

Response error_response(const Error& error) {
    if (error.code() == ErrorCode::internal) {
        spdlog::error("internal error: {}", loggable(error.what(), logged_message_bytes));
    } else if (error.code() == ErrorCode::unavailable) {
        spdlog::error("unavailable: {}", loggable(error.what(), logged_message_bytes));
    }
    return unlogged_error_response(error);
}

Response unlogged_error_response(const Error& error) {
    std::string message = error.what();
    if (error.code() == ErrorCode::internal) message = "internal error; the daemon's error log has the details";
    auto response = Response::json(status_of(error.code()),
                                   {{"error", {{"code", to_string(error.code())}, {"message", message}}}});
    response.busy = error.code() == ErrorCode::busy;
    return response;
}

} // namespace netd::http
