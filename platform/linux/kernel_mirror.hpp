#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "netd/net/range_set.hpp"
#include "netlink.hpp"

namespace netd::platform {

// The kernel's links, addresses, main-table routes (and netd's routes of
// other tables) and rules, held in memory
// and kept current by rtnetlink notifications, so that a read costs no dump.
// Beside them it keeps the indexes that the hot paths query, so that creating
// the 10,000th interface costs what creating the first did: link names and
// address labels, and the ranges that addresses and routes occupy.
//
// Every read first applies the notifications queued so far. The kernel
// queues them before the call that caused them returns, so a read after one
// of our own changes always sees it, and a change someone else made is seen
// by the next read. If the kernel ever drops notifications (its buffer
// overflowed), the mirror is rebuilt from a fresh dump.
//
// A rebuild is all or nothing: the dumps are read whole first, and only then
// replace what the mirror held. Until one succeeds, every read throws (and
// tries again), so a half-built mirror is never served; /healthz, which
// reads it, answers 503 meanwhile.
//
// The references returned stay valid until the next call into the mirror.
class KernelMirror {
public:
    using Links = std::map<int, Link>;
    // By interface index first, so that one interface's addresses are a range.
    using Addresses = std::map<std::tuple<int, net::InterfaceAddress>, Address>;
    using Routes = std::map<std::tuple<net::Cidr, int, std::uint32_t>, Route>; // destination, interface, table
    // Rules are few (a handful on most hosts), and the kernel may hold two
    // that differ only in priority.
    using Rules = std::vector<Rule>;

    KernelMirror();

    const Links& links();
    const Addresses& addresses();
    const Routes& routes();
    const Rules& rules();
    std::optional<Link> link(const std::string& name);
    // An interface's addresses in `addresses`.
    static std::vector<const Address*> addresses_of(const Addresses& addresses, int index);
    // Whether `name` is a link's name or an address's label.
    bool name_taken(const std::string& name);
    // An address network or a route (other than /0 and /1, which VPNs use to
    // capture all traffic and which would otherwise fill any pool) that
    // overlaps `range`.
    std::optional<net::Cidr> find_occupied(const net::Cidr& range);
    // Counts the changes applied: equal numbers, equal state.
    std::uint64_t generation();
    // Adds an address through `netlink` and holds it at once. The kernel
    // notifies an IPv6 address from a work queue (its DAD step runs there,
    // NODAD or not), so the notification may come after the add returned,
    // and a listing in between would lack it; what the kernel acknowledged
    // is in the kernel. (IPv4's notification comes before the reply.)
    void add_address(Netlink& netlink, int index, const AddressSpec& spec);

    // One mirror per process, shared by the backends of a daemon.
    static std::shared_ptr<KernelMirror> shared();

private:
    void refresh();
    void reload();
    void reload_routes();
    void apply(const nlmsghdr* message);

    void put_link(Link link);
    void drop_link(int index);
    void put_address(Address address);
    void drop_address(const Addresses::key_type& key);
    void put_route(const Route& route);
    void drop_route(const Routes::key_type& key);
    void put_rule(const Rule& rule);
    void drop_rule(const Rule& rule);

    Netlink events_; // subscribed first, so that nothing between it and the dump is missed
    Netlink dumps_;
    Links links_;
    Addresses addresses_;
    Routes routes_;
    Rules rules_;
    std::map<std::string, int> link_names_;
    std::multiset<std::string> labels_;
    net::RangeSet occupied_;
    bool routes_stale_ = false;
    bool untrusted_ = false; // events were lost and no rebuild has succeeded since
    std::uint64_t generation_ = 0;
};

} // namespace netd::platform
