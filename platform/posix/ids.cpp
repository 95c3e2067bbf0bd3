#include "ids.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <vector>

#include "netd/error.hpp"

namespace netd::platform {
namespace {

template <typename Entry, typename Id>
std::uint32_t resolve(const std::string& text, const char* what,
                      int (*lookup)(const char*, Entry*, char*, std::size_t, Entry**), Id Entry::*id) {
    if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return static_cast<std::uint32_t>(std::stoul(text));
    }
    Entry entry{};
    Entry* found = nullptr;
    std::vector<char> buffer(16384);
    if (lookup(text.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
        fail(ErrorCode::invalid, std::string("no ") + what + " named \"" + text + "\" on this host");
    }
    return static_cast<std::uint32_t>(entry.*id);
}

} // namespace

std::uint32_t user_id(const std::string& name_or_id) { return resolve(name_or_id, "user", getpwnam_r, &passwd::pw_uid); }

std::uint32_t group_id(const std::string& name_or_id) {
    return resolve(name_or_id, "group", getgrnam_r, &group::gr_gid);
}

} // namespace netd::platform
