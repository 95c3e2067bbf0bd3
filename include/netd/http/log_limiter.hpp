#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace netd::http {

struct LogLimits {
    // Events of one key logged one by one per window; the rest are counted.
    std::size_t per_key = 5;
    // Events of all keys together logged one by one per window, so that a
    // client with many keys (addresses) cannot multiply the lines.
    std::size_t total = 20;
    std::chrono::seconds window{10};
    // Keys followed at once. Past them, new keys share one entry, named
    // `others`, so that the table stays this small whatever comes.
    std::size_t keys = 32;
    std::string others = "others";
};

// Bounds how much a repeated event is logged, so that a flood of them (a
// client sending refused requests in a loop) cannot fill the disk: per key
// (a caller), the first few events of a window are logged one by one, and
// the rest make one summary line once the window ends. Both the lines and
// the memory are bounded, whatever the events: at most `total` single lines
// and keys + 1 summaries per window, in a table of keys + 1 entries.
//
// Not thread-safe: the server's io_context runs on one thread.
class LogLimiter {
public:
    using Clock = std::chrono::steady_clock;

    // Events held back in the window of one key.
    struct Summary {
        std::string key;
        std::uint64_t held;
        Clock::duration over; // the window's length, or less at a flush
    };
    using Report = std::function<void(const Summary&)>;

    // `report` logs a summary; `now` is the clock (injected by tests).
    LogLimiter(LogLimits limits, Report report, std::function<Clock::time_point()> now = Clock::now);

    // Whether to log this event of `key` on its own line. When not, it is
    // counted, and reported when its key's window ends.
    bool admit(std::string_view key);

    // Reports every window that has ended and held something back, and
    // frees its entry; with `all`, every window (at shutdown).
    void sweep(bool all = false);

    // Whether a summary is still to come, for whoever calls sweep().
    bool holding() const;

private:
    struct Entry {
        std::string key;
        Clock::time_point start{};
        std::uint64_t logged = 0;
        std::uint64_t held = 0;
        bool used = false;
    };

    void sweep(Entry& entry, Clock::time_point now, bool all);
    Entry& entry_for(std::string_view key, Clock::time_point now);

    LogLimits limits_;
    Report report_;
    std::function<Clock::time_point()> now_;
    std::vector<Entry> entries_; // limits_.keys of them, never more
    Entry others_;
    Clock::time_point total_start_{};
    std::size_t total_logged_ = 0;
};

} // namespace netd::http
