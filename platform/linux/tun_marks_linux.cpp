#include "tun_marks_linux.hpp"

#include "netd/error.hpp"

namespace netd::platform {
namespace {

std::string describe(const Rule& rule) {
    return std::string("the ") + (rule.family == net::Family::v4 ? "IPv4" : "IPv6") + " rule \"fwmark " +
           std::to_string(rule.fwmark) + " lookup " + std::to_string(rule.table) + "\" (priority " +
           std::to_string(rule.priority) + ")";
}

std::string name_of(KernelMirror& kernel, int index) {
    const auto& links = kernel.links();
    auto link = links.find(index);
    return link == links.end() ? "interface " + std::to_string(index) : link->second.name;
}

// The tables netd's routes are in, but main, by the interface they go out of.
std::map<std::uint32_t, int> marked_tables(KernelMirror& kernel) {
    std::map<std::uint32_t, int> tables;
    for (const auto& [_, route] : kernel.routes()) {
        if (route.protocol == netd_protocol && route.table != main_table) tables[route.table] = route.index;
    }
    return tables;
}

bool is_ours(const Rule& rule) { return rule.protocol == netd_protocol && rule.fwmark != 0 && rule.table != 0; }

} // namespace

std::map<int, TunMark> marks_by_index(KernelMirror& kernel) {
    auto tables = marked_tables(kernel);
    std::map<int, TunMark> marks;
    for (const auto& rule : kernel.rules()) {
        auto table = tables.find(rule.table);
        if (!is_ours(rule) || table == tables.end()) continue;
        marks.try_emplace(table->second, TunMark{rule.fwmark, rule.table});
    }
    return marks;
}

void check_mark_free(KernelMirror& kernel, Netlink& netlink, const TunMark& mark) {
    auto tables = marked_tables(kernel);
    auto whose = [&](const Rule& rule) {
        auto table = tables.find(rule.table);
        if (is_ours(rule) && table != tables.end()) return ", the mark of " + name_of(kernel, table->second);
        return std::string(is_ours(rule) ? "" : ", which tun-daemon did not make");
    };
    auto rules = kernel.rules(); // a copy: naming a link reads the mirror, which may change it
    for (const auto& rule : rules) {
        if (rule.fwmark == mark.value) {
            fail(ErrorCode::conflict, "fwmark " + std::to_string(mark.value) + " is taken: " + describe(rule) +
                                          " matches it" + whose(rule));
        }
        if (rule.table == mark.table) {
            fail(ErrorCode::conflict, "table " + std::to_string(mark.table) + " is taken: " + describe(rule) +
                                          " looks it up" + whose(rule));
        }
    }
    // The mirror keeps only netd's routes outside main; a foreign table
    // takes a dump to see.
    for (const auto& route : netlink.routes_in_table(mark.table)) {
        auto owner = route.index ? " on " + name_of(kernel, route.index) : std::string();
        fail(ErrorCode::conflict, "table " + std::to_string(mark.table) + " is taken: it holds the route " +
                                      route.destination.to_string() + owner +
                                      (route.protocol == netd_protocol ? "" : ", which tun-daemon did not make"));
    }
}

std::vector<Rule> add_mark_rules(Netlink& netlink, const TunMark& mark, bool ipv6) {
    std::vector<Rule> added;
    std::vector families{net::Family::v4};
    if (ipv6) families.push_back(net::Family::v6);
    try {
        for (auto family : families) {
            netlink.add_rule(family, mark.value, mark.table);
            // Priority 0: a delete then matches the rule whatever priority the kernel gave it.
            added.push_back({family, 0, mark.value, 0xffffffffu, mark.table, netd_protocol});
        }
    } catch (...) {
        undo_mark_rules(netlink, added);
        throw;
    }
    return added;
}

void undo_mark_rules(Netlink& netlink, const std::vector<Rule>& rules) noexcept {
    for (const auto& rule : rules) {
        try {
            netlink.delete_rule(rule);
        } catch (...) {
            // Left without routes: the next start's sweep takes it.
        }
    }
}

int delete_mark_rules(KernelMirror& kernel, Netlink& netlink, std::uint32_t table) noexcept {
    int failed = 0;
    try {
        auto rules = kernel.rules(); // a copy: each delete changes the mirror
        for (const auto& rule : rules) {
            if (!is_ours(rule) || rule.table != table) continue;
            try {
                netlink.delete_rule(rule);
            } catch (...) {
                ++failed;
            }
        }
    } catch (...) {
        ++failed;
    }
    return failed;
}

std::vector<std::string> delete_stale_rules(KernelMirror& kernel, Netlink& netlink) {
    auto tables = marked_tables(kernel);
    auto rules = kernel.rules();
    std::vector<std::string> deleted;
    for (const auto& rule : rules) {
        if (!is_ours(rule) || tables.contains(rule.table)) continue;
        netlink.delete_rule(rule);
        deleted.push_back(describe(rule));
    }
    return deleted;
}

} // namespace netd::platform
