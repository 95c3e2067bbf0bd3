#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "netlink.hpp"

namespace netd::platform {

// The kernel's links, IPv4 addresses and main-table routes, held in memory
// and kept current by rtnetlink notifications, so that a read costs no dump.
//
// Every read first applies the notifications queued so far. The kernel
// queues them before the call that caused them returns, so a read after one
// of our own changes always sees it, and a change someone else made is seen
// by the next read. If the kernel ever drops notifications (its buffer
// overflowed), the mirror is rebuilt from a fresh dump.
class KernelMirror {
public:
    KernelMirror();

    std::vector<Link> links();
    std::optional<Link> link(const std::string& name);
    std::vector<Address> addresses();
    std::vector<Route> routes();

    // One mirror per process, shared by the backends of a daemon.
    static std::shared_ptr<KernelMirror> shared();

private:
    void refresh();
    void reload();
    void apply(const nlmsghdr* message);

    Netlink events_; // subscribed first, so that nothing between it and the dump is missed
    Netlink dumps_;
    std::map<int, Link> links_;
    std::map<std::tuple<int, net::InterfaceAddress>, Address> addresses_;
    std::map<std::tuple<net::Cidr, int>, Route> routes_;
    bool routes_stale_ = false;
};

} // namespace netd::platform
