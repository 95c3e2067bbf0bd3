#include "netd/intents.hpp"

#include <algorithm>
#include <set>

#include "netd/error.hpp"

namespace netd {

namespace {

constexpr std::size_t min_lines_to_compact = 64;

using Records = std::map<std::string, nlohmann::json>;

void read_records(const nlohmann::json& snapshot, const char* field, Records& records) {
    if (!snapshot.contains(field)) return;
    for (const auto& [key, record] : snapshot.at(field).items()) {
        if (!record.is_object()) throw std::runtime_error("the record for " + key + " is not an object");
        records[key] = record;
    }
}

void read_snapshot(const nlohmann::json& snapshot, Records& records, Records& pending) {
    auto version = snapshot.at("version").get<int>();
    if (version > Intents::format_version) {
        throw std::runtime_error("it is format version " + std::to_string(version) + ", newer than this daemon's " +
                                 std::to_string(Intents::format_version));
    }
    (void)snapshot.at("intents"); // required, even when empty
    read_records(snapshot, "intents", records);
    read_records(snapshot, "pending", pending);
}

const nlohmann::json& record_of(const nlohmann::json& change) {
    const auto& record = change.at("record");
    if (!record.is_object()) throw std::runtime_error("a line's record is not an object: " + change.dump());
    return record;
}

void apply_change(const nlohmann::json& change, Records& records, Records& pending) {
    if (!change.is_object()) throw std::runtime_error("a line is not an object: " + change.dump());
    if (change.contains("begin")) {
        pending[change.at("begin").get<std::string>()] = record_of(change);
    } else if (change.contains("put")) {
        auto key = change.at("put").get<std::string>();
        records[key] = record_of(change);
        pending.erase(key);
    } else if (change.contains("abandon")) {
        pending.erase(change.at("abandon").get<std::string>());
    } else if (change.contains("erase")) {
        auto key = change.at("erase").get<std::string>();
        records.erase(key);
        pending.erase(key);
    } else {
        throw std::runtime_error("a line is neither a begin, a put, an abandon nor an erase: " + change.dump());
    }
}

// Puts `saved` back as `key`'s entry of `map`: nullopt means it had none.
void put_back(Records& map, const std::string& key, const std::optional<nlohmann::json>& saved) {
    if (saved) {
        map[key] = *saved;
    } else {
        map.erase(key);
    }
}

std::optional<nlohmann::json> entry(const Records& map, const std::string& key) {
    auto found = map.find(key);
    if (found == map.end()) return std::nullopt;
    return found->second;
}

} // namespace

Intents::Intents(IntentStore& store, std::string& problem) : store_(store) {
    auto text = store_.read();
    if (!text) return;
    has_snapshot_ = true;
    try {
        load(*text);
    } catch (const std::exception& error) {
        records_.clear();
        pending_.clear();
        has_snapshot_ = false;
        journal_lines_ = 0;
        std::string aside;
        try {
            aside = "moved it to " + store_.set_aside();
        } catch (const std::exception& set_aside_error) {
            // The next change replaces it, if the store lets it by then.
            aside = std::string("could not move it aside (") + set_aside_error.what() + ")";
            rewrite_ = true;
        }
        problem = std::string("the state file is unusable (") + error.what() + "); " + aside +
                  " and started with no saved intents";
        return;
    }
    if (journal_lines_ == 0 && !rewrite_) return;
    // A store that cannot be written must not stop the start: the daemon
    // serves, reports the problem, and rewrites the file at the next change.
    try {
        compact();
    } catch (const std::exception& error) {
        ++write_failures_;
        write_problem_ = error.what();
        rewrite_ = true;
    }
}

void Intents::load(const std::string& text) {
    auto snapshot_end = text.find('\n');
    if (snapshot_end == std::string::npos || snapshot_end + 1 < text.size()) {
        // More than one line: a version 1 file is one pretty-printed document.
        auto whole = nlohmann::json::parse(text, nullptr, false);
        if (!whole.is_discarded() && whole.is_object() && whole.value("version", 0) == 1) {
            read_snapshot(whole, records_, pending_);
            journal_lines_ = 1; // rewrite it in this version's form
            return;
        }
    }
    read_snapshot(nlohmann::json::parse(text.substr(0, snapshot_end)), records_, pending_);
    for (auto start = snapshot_end; start != std::string::npos && start + 1 < text.size();) {
        auto end = text.find('\n', start + 1);
        if (end == std::string::npos) {
            // Cut short by a power loss (or a full disk, before the store
            // cut such pieces off itself): that change never completed. The
            // file is rewritten without it, or the next line would be
            // glued to it.
            rewrite_ = true;
            break;
        }
        apply_change(nlohmann::json::parse(text.substr(start + 1, end - start - 1)), records_, pending_);
        ++journal_lines_;
        start = end;
    }
}

template <typename Change, typename Undo> void Intents::commit(Change change, Undo undo) {
    try {
        change();
    } catch (const std::exception& error) {
        undo();
        ++write_failures_;
        write_problem_ = error.what();
        // The store may hold part of the line: the next change starts afresh.
        rewrite_ = true;
        throw;
    }
    write_problem_.reset();
}

void Intents::begin(const std::string& key, nlohmann::json record) {
    auto before = entry(pending_, key);
    pending_[key] = record;
    commit([&] { log_change({{"begin", key}, {"record", std::move(record)}}); },
                 [&] { put_back(pending_, key, before); });
}

void Intents::put(const std::string& key, nlohmann::json record) {
    auto before = entry(records_, key);
    auto before_pending = entry(pending_, key);
    records_[key] = record;
    pending_.erase(key);
    commit([&] { log_change({{"put", key}, {"record", std::move(record)}}); },
                 [&] {
                     put_back(records_, key, before);
                     put_back(pending_, key, before_pending);
                 });
}

void Intents::abandon(const std::string& key) {
    auto before = entry(pending_, key);
    if (!before) return;
    pending_.erase(key);
    commit([&] { log_change({{"abandon", key}}); }, [&] { put_back(pending_, key, before); });
}

void Intents::erase(const std::string& key) {
    auto before = entry(records_, key);
    auto before_pending = entry(pending_, key);
    if (!before && !before_pending) return;
    records_.erase(key);
    pending_.erase(key);
    commit([&] { log_change({{"erase", key}}); },
           [&] {
               put_back(records_, key, before);
               put_back(pending_, key, before_pending);
           });
}

// Called after the maps have the change, so that a compaction includes it.
void Intents::log_change(const nlohmann::json& change) {
    auto limit = std::max(min_lines_to_compact, 2 * (records_.size() + pending_.size()));
    if (!has_snapshot_ || rewrite_ || journal_lines_ + 1 >= limit) return compact();
    store_.append(change.dump() + "\n");
    ++journal_lines_;
}

void Intents::compact() {
    nlohmann::json intents = nlohmann::json::object();
    for (const auto& [key, record] : records_) intents[key] = record;
    nlohmann::json snapshot{{"version", format_version}, {"intents", intents}};
    if (!pending_.empty()) {
        nlohmann::json pending = nlohmann::json::object();
        for (const auto& [key, record] : pending_) pending[key] = record;
        snapshot["pending"] = pending;
    }
    store_.replace(snapshot.dump() + "\n");
    journal_lines_ = 0;
    has_snapshot_ = true;
    rewrite_ = false;
}

void erase_ahead_of(Intents& intents, const std::string& key, const std::function<void()>& remove) {
    std::optional<nlohmann::json> kept;
    if (auto found = intents.records().find(key); found != intents.records().end()) kept = found->second;
    journal_or_fail([&] { intents.erase(key); });
    try {
        remove();
    } catch (...) {
        if (kept) {
            try {
                intents.put(key, *kept);
            } catch (...) {
                // Erased in the journal, kept by the kernel: the next start adopts it again.
            }
        }
        throw;
    }
}

void journal_or_fail(const std::function<void()>& change) {
    try {
        change();
    } catch (const std::exception& error) {
        fail(ErrorCode::unavailable,
             std::string("the journal cannot record the change, so nothing was changed: ") + error.what());
    }
}

std::vector<Restored> restore_intents(
    Intents& intents, const std::vector<std::string>& present, HostNetwork& host,
    const std::function<std::vector<net::Cidr>(const std::string& key, const nlohmann::json& record)>& ranges_of,
    const std::function<void(const std::string& key, const nlohmann::json& record)>& recreate,
    bool kernel_restarted) {
    std::vector<Restored> outcomes;
    auto records = intents.records(); // a copy: failures erase as we go
    for (const auto& [key, record] : records) {
        if (std::find(present.begin(), present.end(), key) != present.end()) continue;
        if (!kernel_restarted) {
            try {
                intents.erase(key);
                outcomes.push_back({key, "forgot " + key + ": the kernel has not restarted since the journal was "
                                                   "squared with it, and no longer has it (removed behind our back)",
                                    true});
            } catch (const std::exception& error) {
                outcomes.push_back({key, "could not forget " + key + ", which the kernel no longer has: " +
                                             error.what(), false});
            }
            continue;
        }
        try {
            std::string listed;
            for (const auto& range : ranges_of(key, record)) {
                if (auto occupant = host.find_overlap(range)) {
                    fail(ErrorCode::conflict, range.to_string() + " overlaps " + occupant->holder);
                }
                listed += (listed.empty() ? "" : ", ") + range.to_string();
            }
            recreate(key, record);
            outcomes.push_back({key, "restored " + key + " (" + listed + ")", true});
        } catch (const std::exception& error) {
            std::string forgot = "forgot it";
            try {
                intents.erase(key);
            } catch (const std::exception& journal_error) {
                forgot = std::string("could not forget it either: ") + journal_error.what();
            }
            outcomes.push_back({key, "could not restore " + key + ": " + error.what() + "; " + forgot, false});
        }
    }
    return outcomes;
}

WholeCheck fields_made(std::vector<std::string> equal, std::vector<std::string> contained) {
    return [equal = std::move(equal), contained = std::move(contained)](const nlohmann::json& asked,
                                                                        const nlohmann::json& made) {
        for (const auto& key : equal) {
            if (asked.contains(key) && (!made.contains(key) || made.at(key) != asked.at(key))) return false;
        }
        for (const auto& key : contained) {
            if (!asked.contains(key)) continue;
            auto have = made.value(key, nlohmann::json::array());
            for (const auto& item : asked.at(key)) {
                if (std::find(have.begin(), have.end(), item) == have.end()) return false;
            }
        }
        return true;
    };
}

std::vector<Restored> reconcile_intents(Intents& intents, const std::map<std::string, nlohmann::json>& present,
                                        const WholeCheck& whole,
                                        const std::function<void(const std::string& key)>& undo) {
    std::vector<Restored> outcomes;
    auto attempt = [&](const std::string& key, const std::string& done, const std::function<void()>& change) {
        try {
            change();
            outcomes.push_back({key, done, true});
        } catch (const std::exception& error) {
            outcomes.push_back({key, "could not journal " + key + " (" + error.what() + "): " + done, false});
        }
    };
    auto pending = intents.pending(); // a copy: it shrinks as we go
    std::set<std::string> undone;     // half-made, removed: not to be adopted below
    // Pairs, not structured bindings: the lambdas below use the key, and
    // clang before 16 (Apple's with the macOS 12 SDK too) cannot capture a
    // structured binding.
    for (const auto& entry : pending) {
        const auto& key = entry.first;
        const auto& record = entry.second;
        auto found = present.find(key);
        if (found != present.end() && whole && undo && !whole(record, found->second)) {
            undone.insert(key);
            try {
                undo(key);
            } catch (const std::exception& error) {
                // Still begun: the next start tries again.
                outcomes.push_back({key, "could not remove " + key + ", half-made by a crash: " + error.what(), false});
                continue;
            }
            attempt(key, "dropped the create of " + key + ", which a crash interrupted before it was whole (its "
                         "half-made link removed)",
                    [&] { intents.abandon(key); });
        } else if (found != present.end()) {
            // What was asked (an owner's name, say), updated with what the
            // kernel made of it.
            auto completed = record;
            completed.update(found->second);
            attempt(key, "completed the create of " + key + ", which a crash interrupted once the kernel had it whole",
                    [&] { intents.put(key, completed); });
        } else {
            attempt(key, "dropped the create of " + key + ", which a crash interrupted before it was done",
                    [&] { intents.abandon(key); });
        }
    }
    for (const auto& entry : present) {
        const auto& key = entry.first;
        const auto& record = entry.second;
        if (intents.records().contains(key) || undone.contains(key)) continue;
        attempt(key, "journaled " + key + ", which the kernel has and the journal had not",
                [&] { intents.put(key, record); });
    }
    return outcomes;
}

} // namespace netd
