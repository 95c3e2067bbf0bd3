#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace netd::http {

// A request body parsed strictly: a JSON object (an empty body counts as {}),
// nested at most a few levels deep, with no field outside `fields`. Typed
// getters reject wrong types. Every failure is netd::Error(invalid) with a
// message naming the field.
class JsonBody {
public:
    JsonBody(std::string_view text, std::initializer_list<std::string_view> fields);

    std::optional<std::string> string(const std::string& field) const;
    std::optional<int> integer(const std::string& field, int min, int max) const;
    std::optional<bool> boolean(const std::string& field) const;
    std::vector<std::string> strings(const std::string& field) const; // [] when absent
    // A user or group: a name, or a numeric id, as text.
    std::optional<std::string> id(const std::string& field) const;

    const nlohmann::json& value() const { return value_; }

private:
    nlohmann::json value_;
};

} // namespace netd::http
