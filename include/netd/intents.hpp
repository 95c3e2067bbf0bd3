#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netd/backend.hpp"

namespace netd {

// Where intents are kept between runs. The platform's store writes
// atomically (temp file, fsync, rename), so a crash leaves the old text or
// the new, never a mix.
class IntentStore {
public:
    virtual ~IntentStore() = default;
    // The stored text, or nullopt when there is none yet.
    virtual std::optional<std::string> read() = 0;
    virtual void write(const std::string& text) = 0;
    // Moves unusable text out of the way, keeping it for a human to look
    // at; returns where it went.
    virtual std::string set_aside() = 0;
};

// What clients asked for and have not deleted through the API, by key (a
// TUN's name, a subnet's CIDR). The kernel says what exists; intents say
// what to recreate when the kernel has forgotten it, after a reboot.
class Intents {
public:
    static constexpr int format_version = 1;

    // Loads the store. Text that is corrupt or from a newer version is set
    // aside and the intents start empty; `problem` then says what happened.
    Intents(IntentStore& store, std::string& problem);

    const std::map<std::string, nlohmann::json>& records() const { return records_; }
    void put(const std::string& key, nlohmann::json record);
    void erase(const std::string& key);

private:
    void save();

    IntentStore& store_;
    std::map<std::string, nlohmann::json> records_;
};

// What restoring one intent came to.
struct Restored {
    std::string key;
    std::string message;
    bool ok;
};

// Recreates each intent whose key is not in `present` (what the kernel still
// has): `range_of` names the range it needs, which must overlap nothing on
// the host, and `recreate` makes it. An intent that cannot be restored is
// forgotten, so that it is reported once, not at every start.
std::vector<Restored> restore_intents(
    Intents& intents, const std::vector<std::string>& present, HostNetwork& host,
    const std::function<net::Cidr(const std::string& key, const nlohmann::json& record)>& range_of,
    const std::function<void(const std::string& key, const nlohmann::json& record)>& recreate);

} // namespace netd
