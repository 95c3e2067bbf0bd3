#pragma once

#include <nlohmann/json.hpp>

#include "netd/backend.hpp"

namespace netd {

// The tables whose numbers a mark may not take: 0 (unspecified), 253
// (default), 254 (main) and 255 (local) are the kernel's own.
bool is_reserved_table(std::uint32_t table);

// Fails with invalid, naming the field ("mark.value", "mark.table"), when
// the value is 0 or the table is reserved.
void check_mark(const TunMark& mark);

// A request's or a journal record's "mark": {"value": N, "table": T}, both
// required, integers from 1 to 0xffffffff, nothing else in it. Every
// failure is invalid and names the field.
TunMark mark_from_json(const nlohmann::json& value);

// {"value": N, "table": T}, as the API and the journal write it.
nlohmann::json to_json(const TunMark& mark);

} // namespace netd
