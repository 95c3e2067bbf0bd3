#include "netd/http/json_body.hpp"

#include <algorithm>
#include <vector>

#include "netd/error.hpp"
#include "netd/strict_json.hpp"

namespace netd::http {
namespace {

// Request bodies here are flat objects; a deeply nested one is an attack on
// the parser's stack, not a request.
constexpr int max_depth = 8;

std::string type_name(const nlohmann::json& value) { return value.type_name(); }

} // namespace

JsonBody::JsonBody(std::string_view text, std::initializer_list<std::string_view> fields) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        value_ = nlohmann::json::object();
        return;
    }
    try {
        value_ = parse_strict_json(text, max_depth);
    } catch (const Error& error) {
        fail(ErrorCode::invalid, std::string("the JSON body: ") + error.what());
    }
    if (!value_.is_object()) {
        fail(ErrorCode::invalid, "the body must be a JSON object, not " + type_name(value_));
    }
    for (const auto& [key, _] : value_.items()) {
        if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
            std::string known;
            for (auto field : fields) known += (known.empty() ? "" : ", ") + std::string(field);
            fail(ErrorCode::invalid, "unknown field \"" + key + "\"" +
                                         (known.empty() ? "; this request takes no fields"
                                                        : "; known fields: " + known));
        }
    }
}

std::optional<std::string> JsonBody::string(const std::string& field) const {
    auto it = value_.find(field);
    if (it == value_.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) {
        fail(ErrorCode::invalid, "field \"" + field + "\" must be a string, not " + type_name(*it));
    }
    return it->get<std::string>();
}

std::optional<int> JsonBody::integer(const std::string& field, int min, int max) const {
    auto it = value_.find(field);
    if (it == value_.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) {
        fail(ErrorCode::invalid, "field \"" + field + "\" must be an integer, not " + type_name(*it));
    }
    // A huge unsigned value would wrap if read as signed; it is out of range anyway.
    bool too_big = it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max);
    if (too_big || it->get<long long>() < min || it->get<long long>() > max) {
        fail(ErrorCode::invalid, "field \"" + field + "\" must be from " + std::to_string(min) + " to " +
                                     std::to_string(max) + ", not " + it->dump());
    }
    return it->get<int>();
}

std::optional<bool> JsonBody::boolean(const std::string& field) const {
    auto it = value_.find(field);
    if (it == value_.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) fail(ErrorCode::invalid, "field \"" + field + "\" must be true or false, not " + it->dump());
    return it->get<bool>();
}

std::vector<std::string> JsonBody::strings(const std::string& field) const {
    auto it = value_.find(field);
    if (it == value_.end() || it->is_null()) return {};
    std::vector<std::string> out;
    if (it->is_array()) {
        for (const auto& item : *it) {
            if (!item.is_string()) break;
            out.push_back(item.get<std::string>());
        }
        if (out.size() == it->size()) return out;
    }
    fail(ErrorCode::invalid, "field \"" + field + "\" must be an array of strings, not " + it->dump());
}

std::optional<std::string> JsonBody::id(const std::string& field) const {
    auto it = value_.find(field);
    if (it == value_.end() || it->is_null()) return std::nullopt;
    if (it->is_number_unsigned() && it->get<std::uint64_t>() < 0xffffffffu) return std::to_string(it->get<std::uint64_t>());
    if (it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
    fail(ErrorCode::invalid, "field \"" + field + "\" must be a name or a numeric id, not " + it->dump());
}

} // namespace netd::http
