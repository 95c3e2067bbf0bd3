#pragma once

#include <cstdint>
#include <string>

namespace netd::platform {

// A user or group given by name or by numeric id; an unknown name is
// netd::Error(invalid).
std::uint32_t user_id(const std::string& name_or_id);
std::uint32_t group_id(const std::string& name_or_id);

} // namespace netd::platform
