#include "netd/error.hpp"

namespace netd {

std::string_view to_string(ErrorCode code) {
    switch (code) {
    case ErrorCode::invalid: return "invalid";
    case ErrorCode::unauthorized: return "unauthorized";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::method_not_allowed: return "method_not_allowed";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::headers_too_large: return "headers_too_large";
    case ErrorCode::unsupported_media: return "unsupported_media_type";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::busy: return "unavailable"; // to clients, a 503 like any other
    case ErrorCode::internal: return "internal";
    }
    return "internal";
}

} // namespace netd
