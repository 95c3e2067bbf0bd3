#include "netd/strict_json.hpp"

#include <set>
#include <string>
#include <vector>

#include "netd/error.hpp"

namespace netd {

nlohmann::json parse_strict_json(std::string_view text, int max_depth) {
    std::vector<std::set<std::string>> keys; // of each object being parsed
    auto check = [&keys, max_depth](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using event_t = nlohmann::json::parse_event_t;
        if (depth > max_depth) fail(ErrorCode::invalid, "nested too deeply");
        if (event == event_t::object_start) keys.emplace_back();
        if (event == event_t::object_end) keys.pop_back();
        if (event == event_t::key && !keys.back().insert(parsed.get<std::string>()).second) {
            fail(ErrorCode::invalid, "the key \"" + parsed.get<std::string>().substr(0, 64) + "\" is given more than once");
        }
        return true;
    };
    try {
        return nlohmann::json::parse(text, check);
    } catch (const nlohmann::json::exception& error) { // a parse error, or a number out of range
        fail(ErrorCode::invalid, std::string("not valid JSON: ") + error.what());
    }
}

} // namespace netd
