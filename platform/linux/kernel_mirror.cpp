#include "kernel_mirror.hpp"

#include <linux/rtnetlink.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace netd::platform {
namespace {

// Only the main table's routes hold address space: another table's serve
// only the traffic a rule sends there.
bool occupies(const Route& route) { return route.table == main_table && route.destination.prefix_len() >= 2; }

// RTNLGRP_IPV6_RULE has no RTMGRP_ macro of its own.
constexpr unsigned ipv6_rule_group = 1u << (RTNLGRP_IPV6_RULE - 1);

// The lowest key an interface's addresses can have.
KernelMirror::Addresses::key_type lowest_key_of(int index) { return {index, net::InterfaceAddress(net::IpAddress(), 0)}; }

} // namespace

KernelMirror::KernelMirror()
    : events_(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE |
              RTMGRP_IPV4_RULE | ipv6_rule_group) {
    // At start nothing is served yet, so a host too busy for one dump to
    // finish (another daemon restoring, a routing daemon) is waited out for
    // a while rather than ending the start: up to about 10 s, backing off.
    auto delay = std::chrono::milliseconds(10);
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);;) {
        try {
            reload();
            return;
        } catch (const Error& error) {
            if (error.code() != ErrorCode::unavailable || std::chrono::steady_clock::now() > deadline) throw;
        }
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(500));
    }
}

std::shared_ptr<KernelMirror> KernelMirror::shared() {
    static auto mirror = std::make_shared<KernelMirror>();
    return mirror;
}

void KernelMirror::put_link(Link link) {
    auto old = links_.find(link.index);
    if (old != links_.end()) link_names_.erase(old->second.name);
    link_names_[link.name] = link.index;
    links_[link.index] = std::move(link);
}

void KernelMirror::drop_link(int index) {
    auto link = links_.find(index);
    if (link == links_.end()) return;
    link_names_.erase(link->second.name);
    links_.erase(link);
    auto first = addresses_.lower_bound(lowest_key_of(index));
    while (first != addresses_.end() && std::get<0>(first->first) == index) drop_address((first++)->first);
}

void KernelMirror::put_address(Address address) {
    Addresses::key_type key{address.index, address.address};
    drop_address(key);
    labels_.insert(address.label);
    occupied_.insert(address.address.network());
    addresses_.emplace(key, std::move(address));
}

void KernelMirror::drop_address(const Addresses::key_type& key) {
    auto address = addresses_.find(key);
    if (address == addresses_.end()) return;
    labels_.erase(labels_.find(address->second.label));
    occupied_.erase(address->second.address.network());
    addresses_.erase(address);
}

void KernelMirror::put_route(const Route& route) {
    Routes::key_type key{route.destination, route.index, route.table};
    if (routes_.contains(key)) return;
    if (occupies(route)) occupied_.insert(route.destination);
    routes_.emplace(key, route);
}

void KernelMirror::drop_route(const Routes::key_type& key) {
    auto route = routes_.find(key);
    if (route == routes_.end()) return;
    if (occupies(route->second)) occupied_.erase(route->second.destination);
    routes_.erase(route);
}

void KernelMirror::put_rule(const Rule& rule) {
    if (std::find(rules_.begin(), rules_.end(), rule) == rules_.end()) rules_.push_back(rule);
}

void KernelMirror::drop_rule(const Rule& rule) { std::erase(rules_, rule); }

void KernelMirror::reload_routes() {
    auto fresh = dumps_.routes(); // read whole before anything is dropped
    ++generation_;
    while (!routes_.empty()) drop_route(routes_.begin()->first);
    for (const auto& route : fresh) put_route(route);
    routes_stale_ = false;
}

void KernelMirror::reload() {
    // Set first: should a dump fail, the events drained here are gone, and
    // only a rebuild that succeeds may clear it.
    untrusted_ = true;
    events_.drain([](const nlmsghdr*) {}); // what the dumps are about to show anyway
    auto links = dumps_.links();
    auto addresses = dumps_.addresses();
    auto routes = dumps_.routes();
    auto rules = dumps_.rules();
    ++generation_;
    links_.clear();
    addresses_.clear();
    routes_.clear();
    rules_ = std::move(rules);
    link_names_.clear();
    labels_.clear();
    occupied_.clear();
    for (auto& link : links) put_link(std::move(link));
    for (auto& address : addresses) put_address(std::move(address));
    for (const auto& route : routes) put_route(route);
    routes_stale_ = false;
    untrusted_ = false;
}

void KernelMirror::apply(const nlmsghdr* message) {
    ++generation_;
    auto type = message->nlmsg_type;
    if (auto link = parse_link(message)) {
        if (type == RTM_NEWLINK) return put_link(std::move(*link));
        drop_link(link->index);
        // The kernel flushes a vanished link's routes without a notification.
        routes_stale_ = true;
    } else if (auto address = parse_address(message)) {
        if (type == RTM_NEWADDR) return put_address(std::move(*address));
        drop_address({address->index, address->address});
        routes_stale_ = true; // likewise the routes that depended on the address
    } else if (auto route = parse_route(message)) {
        if (type == RTM_NEWROUTE) return put_route(*route);
        drop_route({route->destination, route->index, route->table});
    } else if (auto rule = parse_rule(message)) {
        if (type == RTM_NEWRULE) return put_rule(*rule);
        drop_rule(*rule);
    }
}

void KernelMirror::refresh() {
    if (untrusted_) return reload();
    bool complete = false;
    try {
        complete = events_.drain([this](const nlmsghdr* message) { apply(message); });
    } catch (...) {
        untrusted_ = true; // some events may be lost with the failed read
        throw;
    }
    if (!complete) return reload();
    if (routes_stale_) reload_routes();
}

const KernelMirror::Links& KernelMirror::links() {
    refresh();
    return links_;
}

const KernelMirror::Addresses& KernelMirror::addresses() {
    refresh();
    return addresses_;
}

const KernelMirror::Routes& KernelMirror::routes() {
    refresh();
    return routes_;
}

const KernelMirror::Rules& KernelMirror::rules() {
    refresh();
    return rules_;
}

std::optional<Link> KernelMirror::link(const std::string& name) {
    refresh();
    auto found = link_names_.find(name);
    if (found == link_names_.end()) return std::nullopt;
    return links_.at(found->second);
}

std::vector<const Address*> KernelMirror::addresses_of(const Addresses& addresses, int index) {
    std::vector<const Address*> out;
    for (auto it = addresses.lower_bound(lowest_key_of(index)); it != addresses.end() && std::get<0>(it->first) == index;
         ++it) {
        out.push_back(&it->second);
    }
    return out;
}

bool KernelMirror::name_taken(const std::string& name) {
    refresh();
    return link_names_.contains(name) || labels_.contains(name);
}

std::uint64_t KernelMirror::generation() {
    refresh();
    return generation_;
}

void KernelMirror::add_address(Netlink& netlink, int index, const AddressSpec& spec) {
    netlink.add_address(index, spec);
    if (spec.address.family() != net::Family::v6) return;
    try {
        refresh(); // what is queued comes first, as it happened first
    } catch (...) {
        return; // untrusted now: the next read rebuilds from a dump, which has it
    }
    ++generation_;
    put_address({index, spec.address, spec.label, spec.proto});
}

std::optional<net::Cidr> KernelMirror::find_occupied(const net::Cidr& range) {
    refresh();
    return occupied_.find_overlap(range);
}

} // namespace netd::platform
