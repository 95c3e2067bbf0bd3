#include <sys/sysctl.h>

#include <string>

#include "netd/platform/platform.hpp"

namespace netd::platform {

// macOS has one network stack per boot; kern.bootsessionuuid names the boot.
std::string kernel_instance() {
    char uuid[64] = {};
    std::size_t size = sizeof uuid - 1;
    if (::sysctlbyname("kern.bootsessionuuid", uuid, &size, nullptr, 0) != 0 || size == 0) return "";
    return std::string("boot ") + uuid;
}

} // namespace netd::platform
