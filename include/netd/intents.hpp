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
// The store holds JSON Lines: a snapshot
// {"version":5,"intents":{...},"pending":{...}}, then one line per change:
// {"begin":key,"record":{...}} before a create's first kernel call (write
// ahead), {"put":key,"record":{...}} once it is done, {"abandon":key} when
// it failed, {"erase":key} before a delete. A change costs one short append
// however many intents there are. The journal is compacted into a new
// snapshot once it has grown to twice the live records, which keeps the
// cost per change constant on average.
//
// Version 4 lets a subnet's record name its "owner", the uid that made it
// through --self-service: the kernel has nowhere to keep it, so this is the
// record of it. Version 5 lets a TUN's record carry a "mark" (policy
// routing: its routes go in the mark's table, not main). Versions 1 to 4
// load as they are (their subnets have no owner, their TUNs no mark); a
// daemon of an older version sets a newer journal aside, as it would any
// journal from a newer version, rather than let an owner or a mark it does
// not know about pass unnoticed (a TUN restored without its mark would put
// its routes in the main table, for all traffic).
//
// All or nothing: a change the store cannot take is not made here either,
// and the caller gets the store's error (unavailable) to undo what it did
// in the kernel. After such a failure the next change rewrites the whole
// file rather than append to one that may end in a partial line.
class Intents {
public:
    static constexpr int format_version = 5;

    // Loads the store (a version 1 file, a single JSON document, too). Text
    // that is corrupt or from a newer version is set aside and the intents
    // start empty; `problem` then says what happened. A last line cut short
    // by a power loss or a full disk is dropped (that change had not been
    // acknowledged as durable), and the file rewritten without it. A store
    // that cannot be written does not stop the load: write_problem() says so.
    Intents(IntentStore& store, std::string& problem);

    const std::map<std::string, nlohmann::json>& records() const { return records_; }
    // Creates begun and neither completed nor abandoned: at start, what a
    // crash interrupted.
    const std::map<std::string, nlohmann::json>& pending() const { return pending_; }

    // Each throws the store's error (unavailable) and changes nothing when
    // the store cannot record the change.
    void begin(const std::string& key, nlohmann::json record); // a create is about to start
    void put(const std::string& key, nlohmann::json record);   // it is done (or adopted)
    void abandon(const std::string& key);                      // it failed: forget the begin
    void erase(const std::string& key);

    // Why the last change could not be recorded; nullopt once one could.
    const std::optional<std::string>& write_problem() const { return write_problem_; }
    // Changes the store could not record since the start.
    std::uint64_t write_failures() const { return write_failures_; }

private:
    void load(const std::string& text);
    void log_change(const nlohmann::json& change);
    void compact();
    // Runs `change` (which logs), undoing `undo` when the store refuses it.
    template <typename Change, typename Undo> void commit(Change change, Undo undo);

    IntentStore& store_;
    std::map<std::string, nlohmann::json> records_;
    std::map<std::string, nlohmann::json> pending_;
    bool has_snapshot_ = false;      // the store's text begins with one
    bool rewrite_ = false;           // the next change rewrites the whole text
    std::size_t journal_lines_ = 0; // changes since the snapshot
    std::optional<std::string> write_problem_;
    std::uint64_t write_failures_ = 0;
};

// Runs `change`, a change of the intents; when the store refuses it, fails
// with unavailable, naming the store's reason and saying that nothing was
// changed (the caller undoes what it did in the kernel before passing it on).
void journal_or_fail(const std::function<void()>& change);

// A delete, written ahead: the intent for `key` is erased first (unavailable
// when the store refuses, with nothing changed), then `remove` asks the
// kernel; if that throws, the intent is put back. So a crash before the
// kernel's delete leaves an object the next start adopts, never an intent
// that a reboot would bring back after the client was told it was gone.
void erase_ahead_of(Intents& intents, const std::string& key, const std::function<void()>& remove);

// What restoring (or reconciling) one intent came to.
struct Restored {
    std::string key;
    std::string message;
    bool ok;
};

// Recreates each intent whose key is not in `present` (what the kernel still
// has): `ranges_of` names the ranges it needs, which must overlap nothing on
// the host, and `recreate` makes it. An intent that cannot be restored is
// forgotten, so that it is reported once, not at every start.
//
// Only a kernel that has restarted (a reboot, a new network namespace) has
// forgotten anything: with `kernel_restarted` false, the kernel the journal
// was last squared with is still running, so an intent it lacks was removed
// behind the daemon's back, or its erase was lost with a damaged journal,
// and it is forgotten instead of made again. The kernel is the truth.
std::vector<Restored> restore_intents(
    Intents& intents, const std::vector<std::string>& present, HostNetwork& host,
    const std::function<std::vector<net::Cidr>(const std::string& key, const nlohmann::json& record)>& ranges_of,
    const std::function<void(const std::string& key, const nlohmann::json& record)>& recreate,
    bool kernel_restarted = true);

// Whether the kernel made all that a begun create asked: `made` (from the
// kernel) has each field of `asked` that the kernel shows.
using WholeCheck = std::function<bool(const nlohmann::json& asked, const nlohmann::json& made)>;

// At start, before any restore: `present` is what the kernel has of ours,
// each with a record built from what the kernel says. A create the journal
// says was begun is completed when the kernel has the object whole (the
// begun record becomes the intent), and abandoned when it has not: a
// half-made object the kernel kept (`whole` says no) is removed with
// `undo` first, as the backend removes a link of ours it finds without
// an address. Either way the create that a crash interrupted was never
// answered, so all or nothing. Every present
// object without an intent gets one, from `present`: after a journal was
// lost, damaged or set aside, or a crash between a create and its record,
// the next reboot restores what the daemon adopted. A change the store
// refuses is reported (ok false) and the rest carry on.
std::vector<Restored> reconcile_intents(Intents& intents, const std::map<std::string, nlohmann::json>& present,
                                        const WholeCheck& whole = {},
                                        const std::function<void(const std::string& key)>& undo = {});

// A WholeCheck over these fields: each of `equal` the same in both
// records, and the lists of `contained` all in `made`'s.
WholeCheck fields_made(std::vector<std::string> equal, std::vector<std::string> contained);

} // namespace netd
