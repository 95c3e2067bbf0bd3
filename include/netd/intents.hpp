#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netd/backend.hpp"

namespace netd {

// Where intents are kept between runs: a journal of lines.
class IntentStore {
public:
    virtual ~IntentStore() = default;
    // The stored text, or nullopt when there is none yet.
    virtual std::optional<std::string> read() = 0;
    // Replaces the whole text atomically and durably: a crash leaves the old
    // text or the new, never a mix.
    virtual void replace(const std::string& text) = 0;
    // Adds a line. It survives the daemon's crash as soon as this returns and
    // a power loss a moment later, once the platform's store has synced it in
    // the background, so that no request waits for the disk.
    virtual void append(const std::string& line) = 0;
    // Moves unusable text out of the way, keeping it for a human to look
    // at; returns where it went.
    virtual std::string set_aside() = 0;
};

// What clients asked for and have not deleted through the API, by key (a
// TUN's name, a subnet's CIDR). The kernel says what exists; intents say
// what to recreate when the kernel has forgotten it, after a reboot.
//
// The store holds JSON Lines: a snapshot {"version":2,"intents":{...}},
// then one line per change, {"put":key,"record":{...}} or {"erase":key}, so
// that a change costs one short append however many intents there are. The
// journal is compacted into a new snapshot once it has grown to twice the
// live records, which keeps the cost per change constant on average.
class Intents {
public:
    static constexpr int format_version = 2;

    // Loads the store (a version 1 file, a single JSON document, too). Text
    // that is corrupt or from a newer version is set aside and the intents
    // start empty; `problem` then says what happened. A last line cut short
    // by a power loss is dropped: that change had not been acknowledged as
    // durable.
    Intents(IntentStore& store, std::string& problem);

    const std::map<std::string, nlohmann::json>& records() const { return records_; }
    void put(const std::string& key, nlohmann::json record);
    void erase(const std::string& key);

private:
    void load(const std::string& text);
    void log_change(const nlohmann::json& change);
    void compact();

    IntentStore& store_;
    std::map<std::string, nlohmann::json> records_;
    bool has_snapshot_ = false;      // the store's text begins with one
    std::size_t journal_lines_ = 0; // changes since the snapshot
};

// What restoring one intent came to.
struct Restored {
    std::string key;
    std::string message;
    bool ok;
};

// Recreates each intent whose key is not in `present` (what the kernel still
// has): `ranges_of` names the ranges it needs, which must overlap nothing on
// the host, and `recreate` makes it. An intent that cannot be restored is
// forgotten, so that it is reported once, not at every start.
std::vector<Restored> restore_intents(
    Intents& intents, const std::vector<std::string>& present, HostNetwork& host,
    const std::function<std::vector<net::Cidr>(const std::string& key, const nlohmann::json& record)>& ranges_of,
    const std::function<void(const std::string& key, const nlohmann::json& record)>& recreate);

} // namespace netd
