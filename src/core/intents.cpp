#include "netd/intents.hpp"

#include <algorithm>

#include "netd/error.hpp"
#include "netd/occupant_index.hpp"

namespace netd {

Intents::Intents(IntentStore& store, std::string& problem) : store_(store) {
    auto text = store_.read();
    if (!text) return;
    try {
        auto document = nlohmann::json::parse(*text);
        auto version = document.at("version").get<int>();
        if (version > format_version) {
            throw std::runtime_error("it is format version " + std::to_string(version) + ", newer than this daemon's " +
                                     std::to_string(format_version));
        }
        for (const auto& [key, record] : document.at("intents").items()) {
            if (!record.is_object()) throw std::runtime_error("the record for " + key + " is not an object");
            records_[key] = record;
        }
    } catch (const std::exception& error) {
        records_.clear();
        problem = std::string("the state file is unusable (") + error.what() + "); moved it to " + store_.set_aside() +
                  " and started with no saved intents";
    }
}

void Intents::put(const std::string& key, nlohmann::json record) {
    records_[key] = std::move(record);
    save();
}

void Intents::erase(const std::string& key) {
    if (records_.erase(key) > 0) save();
}

void Intents::save() {
    nlohmann::json intents = nlohmann::json::object();
    for (const auto& [key, record] : records_) intents[key] = record;
    store_.write(nlohmann::json{{"version", format_version}, {"intents", intents}}.dump(2) + "\n");
}

std::vector<Restored> restore_intents(
    Intents& intents, const std::vector<std::string>& present, HostNetwork& host,
    const std::function<net::Cidr(const std::string& key, const nlohmann::json& record)>& range_of,
    const std::function<void(const std::string& key, const nlohmann::json& record)>& recreate) {
    std::vector<Restored> outcomes;
    auto records = intents.records(); // a copy: failures erase as we go
    for (const auto& [key, record] : records) {
        if (std::find(present.begin(), present.end(), key) != present.end()) continue;
        try {
            auto range = range_of(key, record);
            OccupantIndex occupants(host.occupants());
            if (const auto* occupant = occupants.find_overlap(range)) {
                fail(ErrorCode::conflict, range.to_string() + " overlaps " + occupant->holder);
            }
            recreate(key, record);
            outcomes.push_back({key, "restored " + key + " (" + range.to_string() + ")", true});
        } catch (const std::exception& error) {
            intents.erase(key);
            outcomes.push_back({key, "could not restore " + key + ": " + error.what() + "; forgot it", false});
        }
    }
    return outcomes;
}

} // namespace netd
