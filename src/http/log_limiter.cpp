#include "netd/http/log_limiter.hpp"

#include <algorithm>

namespace netd::http {

LogLimiter::LogLimiter(LogLimits limits, Report report, std::function<Clock::time_point()> now)
    : limits_(std::move(limits)), report_(std::move(report)), now_(std::move(now)), entries_(limits_.keys) {
    others_.key = limits_.others;
}

bool LogLimiter::admit(std::string_view key) {
    auto now = now_();
    // Ended windows first, so that a summary precedes the lines of the
    // window after it, and their entries are free for new keys.
    for (auto& entry : entries_) sweep(entry, now, false);
    sweep(others_, now, false);
    if (now - total_start_ >= limits_.window) {
        total_start_ = now;
        total_logged_ = 0;
    }
    auto& entry = entry_for(key, now);
    if (entry.logged < limits_.per_key && total_logged_ < limits_.total) {
        ++entry.logged;
        ++total_logged_;
        return true;
    }
    ++entry.held;
    return false;
}

void LogLimiter::sweep(bool all) {
    auto now = now_();
    for (auto& entry : entries_) sweep(entry, now, all);
    sweep(others_, now, all);
}

bool LogLimiter::holding() const {
    return others_.held > 0 ||
           std::any_of(entries_.begin(), entries_.end(), [](const Entry& entry) { return entry.held > 0; });
}

void LogLimiter::sweep(Entry& entry, Clock::time_point now, bool all) {
    if (!entry.used) return;
    auto end = entry.start + limits_.window;
    if (!all && now < end) return;
    if (entry.held > 0) report_({entry.key, entry.held, std::min(now, end) - entry.start});
    entry.used = false;
    entry.logged = 0;
    entry.held = 0;
}

LogLimiter::Entry& LogLimiter::entry_for(std::string_view key, Clock::time_point now) {
    auto begin = [&](Entry& entry) -> Entry& {
        if (!entry.used) {
            entry.used = true;
            entry.start = now;
        }
        return entry;
    };
    auto found = std::find_if(entries_.begin(), entries_.end(),
                              [&](const Entry& entry) { return entry.used && entry.key == key; });
    if (found != entries_.end()) return *found;
    auto free = std::find_if(entries_.begin(), entries_.end(), [](const Entry& entry) { return !entry.used; });
    if (free == entries_.end()) return begin(others_);
    free->key.assign(key);
    return begin(*free);
}

} // namespace netd::http
