#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "netd/intents.hpp"
#include "unique_fd.hpp"

namespace netd::platform {

// Writes `text` to `path`, in `directory`, atomically and durably: a
// temporary file is fsynced and renamed over `path`, then the directory is
// fsynced so that the rename survives a crash.
void write_durably(const std::string& directory, const std::string& path, const std::string& text);

// An IntentStore in one file. replace() is atomic and durable
// (write_durably). append() writes at once (the kernel has the line,
// whatever becomes of the daemon) and leaves the fsync to a thread of its
// own, which covers every line appended since the previous sync: group
// commit, so that a request never waits for the disk and a burst of them
// costs a sync every 10 ms, not one each.
class StateFile : public IntentStore {
public:
    // Creates `directory` (mode 0700) if need be, and takes over the
    // `legacy_name` file of earlier versions when there is one.
    StateFile(const std::string& directory, const std::string& name, const std::string& legacy_name);
    // Syncs what is still pending.
    ~StateFile() override;

    std::optional<std::string> read() override;
    void replace(const std::string& text) override;
    void append(const std::string& line) override;
    std::string set_aside() override;

private:
    void sync_appends();

    std::string directory_;
    std::string name_;
    std::string path_; // directory_/name_, for messages
    UniqueFd dir_;     // directory_, open: every access goes through it

    std::mutex mutex_; // guards the four below, shared with the syncing thread
    std::shared_ptr<UniqueFd> journal_; // the file open for appending, once needed
    off_t end_ = 0;                     // its size after the last whole line
    bool dirty_ = false;
    bool stopping_ = false;
    std::condition_variable wake_;
    std::thread syncer_;
};

} // namespace netd::platform
