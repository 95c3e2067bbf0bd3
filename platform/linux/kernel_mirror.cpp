#include "kernel_mirror.hpp"

#include <linux/rtnetlink.h>

namespace netd::platform {

KernelMirror::KernelMirror() : events_(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE) { reload(); }

std::shared_ptr<KernelMirror> KernelMirror::shared() {
    static auto mirror = std::make_shared<KernelMirror>();
    return mirror;
}

void KernelMirror::reload() {
    events_.drain([](const nlmsghdr*) {}); // what the dump is about to show anyway
    links_.clear();
    addresses_.clear();
    routes_.clear();
    for (auto& link : dumps_.links()) links_[link.index] = std::move(link);
    for (auto& address : dumps_.addresses()) addresses_[{address.index, address.address}] = std::move(address);
    for (auto& route : dumps_.routes()) routes_[{route.destination, route.index}] = route;
    routes_stale_ = false;
}

void KernelMirror::apply(const nlmsghdr* message) {
    auto type = message->nlmsg_type;
    if (auto link = parse_link(message)) {
        if (type == RTM_NEWLINK) {
            links_[link->index] = std::move(*link);
            return;
        }
        links_.erase(link->index);
        std::erase_if(addresses_, [&](const auto& entry) { return entry.second.index == link->index; });
        // The kernel flushes a vanished link's routes without a notification.
        routes_stale_ = true;
    } else if (auto address = parse_address(message)) {
        if (type == RTM_NEWADDR) {
            addresses_[{address->index, address->address}] = std::move(*address);
            return;
        }
        addresses_.erase({address->index, address->address});
        routes_stale_ = true; // likewise the routes that depended on the address
    } else if (auto route = parse_route(message)) {
        if (type == RTM_NEWROUTE) {
            routes_[{route->destination, route->index}] = *route;
        } else {
            routes_.erase({route->destination, route->index});
        }
    }
}

void KernelMirror::refresh() {
    if (!events_.drain([this](const nlmsghdr* message) { apply(message); })) return reload();
    if (routes_stale_) {
        routes_.clear();
        for (const auto& route : dumps_.routes()) routes_[{route.destination, route.index}] = route;
        routes_stale_ = false;
    }
}

std::vector<Link> KernelMirror::links() {
    refresh();
    std::vector<Link> out;
    for (const auto& [_, link] : links_) out.push_back(link);
    return out;
}

std::optional<Link> KernelMirror::link(const std::string& name) {
    refresh();
    for (const auto& [_, link] : links_) {
        if (link.name == name) return link;
    }
    return std::nullopt;
}

std::vector<Address> KernelMirror::addresses() {
    refresh();
    std::vector<Address> out;
    for (const auto& [_, address] : addresses_) out.push_back(address);
    return out;
}

std::vector<Route> KernelMirror::routes() {
    refresh();
    std::vector<Route> out;
    for (const auto& [_, route] : routes_) out.push_back(route);
    return out;
}

} // namespace netd::platform
