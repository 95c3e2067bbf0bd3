#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "netd/backend.hpp"
#include "kernel_mirror.hpp"
#include "netlink.hpp"

// A TUN's mark (policy routing) in the kernel: netd's rule "fwmark value
// lookup table" (FRA_PROTOCOL netd_protocol), one for IPv4 and one for IPv6
// when the TUN has IPv6, and the TUN's routes (rtm_protocol netd_protocol)
// in that table. The kernel has no field that ties a rule to an interface,
// so the routes do: a rule of ours belongs to the TUN whose routes are in
// its table.
namespace netd::platform {

// The marks of the interfaces that have netd routes outside the main table
// and a netd rule looking that table up, by interface index.
std::map<int, TunMark> marks_by_index(KernelMirror& kernel);

// Fails with conflict, naming what it hit, when a rule already matches
// `mark.value` or looks up `mark.table`, or the table holds a route.
void check_mark_free(KernelMirror& kernel, Netlink& netlink, const TunMark& mark);

// Adds the mark's rules (IPv6's too with `ipv6`); all or nothing.
std::vector<Rule> add_mark_rules(Netlink& netlink, const TunMark& mark, bool ipv6);

// Deletes `rules`, which a failed create added; one that cannot be is left
// without routes, for the next start's sweep.
void undo_mark_rules(Netlink& netlink, const std::vector<Rule>& rules) noexcept;

// Deletes netd's rules that look up `table`; returns how many failed.
int delete_mark_rules(KernelMirror& kernel, Netlink& netlink, std::uint32_t table) noexcept;

// Deletes netd's rules whose table holds no netd route: what a crash between
// a rule and its routes leaves, or a TUN removed behind the daemon's back
// (its routes go with it, its rules stay). Returns them, described.
std::vector<std::string> delete_stale_rules(KernelMirror& kernel, Netlink& netlink);

} // namespace netd::platform
