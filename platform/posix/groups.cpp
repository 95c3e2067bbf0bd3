#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "netd/platform/platform.hpp"

namespace netd::platform {

std::vector<std::uint32_t> groups_of(std::uint32_t uid) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (getpwuid_r(static_cast<uid_t>(uid), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) return {};
    // getgrouplist says how many there are when the array is too small.
#ifdef __APPLE__
    using Gid = int; // macOS declares the list as int
#else
    using Gid = gid_t;
#endif
    int count = 32;
    std::vector<Gid> groups;
    for (int attempt = 0; attempt < 4; ++attempt) {
        groups.resize(static_cast<std::size_t>(count));
        int given = count;
        if (getgrouplist(entry.pw_name, static_cast<Gid>(entry.pw_gid), groups.data(), &given) >= 0) {
            groups.resize(static_cast<std::size_t>(given));
            return {groups.begin(), groups.end()};
        }
        // Linux sets `given` to the number needed; macOS does not, so grow.
        count = given > count ? given : count * 4;
    }
    return {static_cast<std::uint32_t>(entry.pw_gid)};
}

std::optional<std::uint32_t> find_group(const std::string& name) {
    if (!name.empty() && name.size() <= 9 && name.find_first_not_of("0123456789") == std::string::npos) {
        return static_cast<std::uint32_t>(std::stoul(name)); // a numeric gid, as chown takes
    }
    group entry{};
    group* found = nullptr;
    std::vector<char> buffer(16384);
    if (name.find('\0') != std::string::npos ||
        getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(entry.gr_gid);
}

} // namespace netd::platform
