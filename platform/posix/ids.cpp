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
    if (text.find('\0') != std::string::npos) {
        // The C library would look up only what comes before it.
        fail(ErrorCode::invalid, std::string("a ") + what + " name must not contain a NUL byte");
    }
    if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        // 4294967295 is (uid_t)-1, "no owner" to the kernel; anything larger
        // must not wrap around to a small id such as root's 0.
        constexpr std::uint64_t max_id = 0xfffffffe;
        auto digits = text.substr(text.find_first_not_of('0') == std::string::npos ? text.size() - 1
                                                                                     : text.find_first_not_of('0'));
        if (digits.size() > 10 || std::stoull(digits) > max_id) {
            fail(ErrorCode::invalid, std::string("a numeric ") + what + " id must be at most " +
                                         std::to_string(max_id) + ", not " + text.substr(0, 24));
        }
        return static_cast<std::uint32_t>(std::stoull(digits));
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
