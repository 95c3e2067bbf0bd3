#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

// How netd-tunnel's server slows down token guessing: a caller (a remote
// address) with `limit` failed tries in the last `window` is refused
// without a look at its token (429) until the oldest of them is a window
// old. Pure, with the clock passed in; at most `keys` callers are followed,
// the oldest forgotten first, so that a flood of addresses cannot grow it.
namespace netd::tunnel {

class AuthThrottle {
public:
    using Clock = std::chrono::steady_clock;

    explicit AuthThrottle(std::size_t limit = 5, Clock::duration window = std::chrono::seconds(10),
                          std::size_t keys = 1024)
        : limit_(limit), window_(window), keys_(keys) {}

    bool allowed(const std::string& caller, Clock::time_point now) {
        auto it = callers_.find(caller);
        if (it == callers_.end()) return true;
        if (now - it->second.start >= window_) {
            callers_.erase(it);
            return true;
        }
        return it->second.failures < limit_;
    }

    void failed(const std::string& caller, Clock::time_point now) {
        auto it = callers_.find(caller);
        if (it != callers_.end() && now - it->second.start >= window_) {
            callers_.erase(it);
            it = callers_.end();
        }
        if (it == callers_.end()) {
            if (callers_.size() >= keys_) forget_oldest();
            it = callers_.emplace(caller, Entry{now, 0}).first;
        }
        ++it->second.failures;
    }

    std::size_t followed() const { return callers_.size(); }

private:
    struct Entry {
        Clock::time_point start;
        std::size_t failures;
    };

    void forget_oldest() {
        auto oldest = callers_.begin();
        for (auto it = callers_.begin(); it != callers_.end(); ++it) {
            if (it->second.start < oldest->second.start) oldest = it;
        }
        callers_.erase(oldest);
    }

    std::size_t limit_;
    Clock::duration window_;
    std::size_t keys_;
    std::map<std::string, Entry> callers_;
};

} // namespace netd::tunnel
