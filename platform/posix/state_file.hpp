#pragma once

#include <string>

#include "netd/intents.hpp"

namespace netd::platform {

// An IntentStore in one file, replaced atomically: the new text goes to a
// temporary file that is fsynced and renamed over the old one, and the
// directory is fsynced so that the rename itself survives a crash.
class StateFile : public IntentStore {
public:
    // Creates `directory` (mode 0700) if need be.
    explicit StateFile(const std::string& directory, const std::string& name = "state.json");

    std::optional<std::string> read() override;
    void write(const std::string& text) override;
    std::string set_aside() override;

private:
    std::string directory_;
    std::string path_;
};

} // namespace netd::platform
