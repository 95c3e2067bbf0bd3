#include "netd/tun_mark.hpp"

#include <limits>
#include <string>

#include "netd/error.hpp"

namespace netd {
namespace {

constexpr std::uint32_t unspecified_table = 0, default_table = 253, main_table = 254, local_table = 255;

std::uint32_t field_of(const nlohmann::json& mark, const char* field) {
    auto name = std::string("\"mark.") + field + "\"";
    auto it = mark.find(field);
    if (it == mark.end() || it->is_null()) fail(ErrorCode::invalid, name + " is required");
    if (!it->is_number_integer()) {
        fail(ErrorCode::invalid, name + " must be an integer, not " + std::string(it->type_name()));
    }
    // Checked unsigned first: a huge value would wrap if read as signed.
    bool in_range = it->is_number_unsigned() ? it->get<std::uint64_t>() <= std::numeric_limits<std::uint32_t>::max()
                                             : it->get<std::int64_t>() >= 0;
    if (!in_range) fail(ErrorCode::invalid, name + " must be from 1 to 4294967295, not " + it->dump());
    return static_cast<std::uint32_t>(it->get<std::uint64_t>());
}

} // namespace

bool is_reserved_table(std::uint32_t table) {
    return table == unspecified_table || table == default_table || table == main_table || table == local_table;
}

void check_mark(const TunMark& mark) {
    // fwmark 0 is what unmarked traffic carries: a rule on it would catch everything.
    if (mark.value == 0) fail(ErrorCode::invalid, "\"mark.value\" must be from 1 to 4294967295, not 0");
    if (is_reserved_table(mark.table)) {
        fail(ErrorCode::invalid, "\"mark.table\" must be from 1 to 4294967295 but 253, 254 and 255 (the kernel's "
                                 "default, main and local tables), not " +
                                     std::to_string(mark.table));
    }
}

TunMark mark_from_json(const nlohmann::json& value) {
    if (!value.is_object()) {
        fail(ErrorCode::invalid, "field \"mark\" must be an object {\"value\": N, \"table\": T}, not " +
                                     std::string(value.type_name()));
    }
    for (const auto& [key, _] : value.items()) {
        if (key != "value" && key != "table") {
            fail(ErrorCode::invalid, "unknown field \"mark." + key.substr(0, 64) + "\"; known fields: value, table");
        }
    }
    TunMark mark{field_of(value, "value"), field_of(value, "table")};
    check_mark(mark);
    return mark;
}

nlohmann::json to_json(const TunMark& mark) { return {{"value", mark.value}, {"table", mark.table}}; }

} // namespace netd
