#include <sys/stat.h>

#include <fstream>
#include <string>

#include "netd/platform/platform.hpp"

namespace netd::platform {

std::string kernel_instance() {
    std::string boot;
    std::getline(std::ifstream("/proc/sys/kernel/random/boot_id"), boot);
    struct stat netns {};
    if (boot.empty() || ::stat("/proc/self/ns/net", &netns) != 0) return "";
    return "boot " + boot + " netns " + std::to_string(netns.st_dev) + ":" + std::to_string(netns.st_ino);
}

} // namespace netd::platform
