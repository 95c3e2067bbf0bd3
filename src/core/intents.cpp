#include "netd/intents.hpp"

#include <algorithm>

#include "netd/error.hpp"

namespace netd {

namespace {

constexpr std::size_t min_lines_to_compact = 64;

void read_snapshot(const nlohmann::json& snapshot, std::map<std::string, nlohmann::json>& records) {
    auto version = snapshot.at("version").get<int>();
    if (version > Intents::format_version) {
        throw std::runtime_error("it is format version " + std::to_string(version) + ", newer than this daemon's " +
                                 std::to_string(Intents::format_version));
    }
    for (const auto& [key, record] : snapshot.at("intents").items()) {
        if (!record.is_object()) throw std::runtime_error("the record for " + key + " is not an object");
        records[key] = record;
    }
}

void apply_change(const nlohmann::json& change, std::map<std::string, nlohmann::json>& records) {
    if (change.contains("put") && change.at("record").is_object()) {
        records[change.at("put").get<std::string>()] = change.at("record");
    } else if (change.contains("erase")) {
        records.erase(change.at("erase").get<std::string>());
    } else {
        throw std::runtime_error("a line is neither a put nor an erase: " + change.dump());
    }
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
        problem = std::string("the state file is unusable (") + error.what() + "); moved it to " + store_.set_aside() +
                  " and started with no saved intents";
        has_snapshot_ = false;
        journal_lines_ = 0;
        return;
    }
    if (journal_lines_ > 0) compact();
}

void Intents::load(const std::string& text) {
    auto snapshot_end = text.find('\n');
    if (snapshot_end == std::string::npos || snapshot_end + 1 < text.size()) {
        // More than one line: a version 1 file is one pretty-printed document.
        auto whole = nlohmann::json::parse(text, nullptr, false);
        if (!whole.is_discarded() && whole.is_object() && whole.value("version", 0) == 1) {
            read_snapshot(whole, records_);
            journal_lines_ = 1; // rewrite it in this version's form
            return;
        }
    }
    read_snapshot(nlohmann::json::parse(text.substr(0, snapshot_end)), records_);
    for (auto start = snapshot_end; start != std::string::npos && start + 1 < text.size();) {
        auto end = text.find('\n', start + 1);
        if (end == std::string::npos) break; // cut short by a power loss
        apply_change(nlohmann::json::parse(text.substr(start + 1, end - start - 1)), records_);
        ++journal_lines_;
        start = end;
    }
}

void Intents::put(const std::string& key, nlohmann::json record) {
    records_[key] = record;
    log_change({{"put", key}, {"record", std::move(record)}});
}

void Intents::erase(const std::string& key) {
    if (records_.erase(key) == 0) return;
    log_change({{"erase", key}});
}

// Called after records_ has the change, so that a compaction includes it.
void Intents::log_change(const nlohmann::json& change) {
    if (!has_snapshot_ || ++journal_lines_ >= std::max(min_lines_to_compact, 2 * records_.size())) return compact();
    store_.append(change.dump() + "\n");
}

void Intents::compact() {
    nlohmann::json intents = nlohmann::json::object();
    for (const auto& [key, record] : records_) intents[key] = record;
    store_.replace(nlohmann::json{{"version", format_version}, {"intents", intents}}.dump() + "\n");
    journal_lines_ = 0;
    has_snapshot_ = true;
}

std::vector<Restored> restore_intents(
    Intents& intents, const std::vector<std::string>& present, HostNetwork& host,
    const std::function<std::vector<net::Cidr>(const std::string& key, const nlohmann::json& record)>& ranges_of,
    const std::function<void(const std::string& key, const nlohmann::json& record)>& recreate) {
    std::vector<Restored> outcomes;
    auto records = intents.records(); // a copy: failures erase as we go
    for (const auto& [key, record] : records) {
        if (std::find(present.begin(), present.end(), key) != present.end()) continue;
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
            intents.erase(key);
            outcomes.push_back({key, "could not restore " + key + ": " + error.what() + "; forgot it", false});
        }
    }
    return outcomes;
}

} // namespace netd
