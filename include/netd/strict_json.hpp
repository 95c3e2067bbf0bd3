#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

// JSON read strictly, for request bodies and config files alike: a key
// given twice in one object means two different things to two parsers (the
// first wins in some, the last in others), and deep nesting is an attack on
// the parser's stack, so both are refused.
namespace netd {

// Throws netd::Error(invalid): "the key \"K\" is given more than once",
// "nested too deeply", or "not valid JSON: " and nlohmann's words (where,
// and why).
nlohmann::json parse_strict_json(std::string_view text, int max_depth);

} // namespace netd
