#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netd/net/ip.hpp"

namespace netd::platform {
class UniqueFd; // platform/posix/unique_fd.hpp: whoever calls TunBackend::attach includes it
}

// The narrow interfaces between the pure core and the operating system. Each
// OS implements them in platform/<os>/; tests use the fakes in tests/support.
// Every call reads or changes the kernel's state and reports it as the kernel
// has it: nothing here is a cache the core could drift from.
namespace netd {

// Ethernet's, what a new TUN has unless asked otherwise.
inline constexpr int default_tun_mtu = 1500;

// Policy routing for a TUN (Linux only): the FIB rule "fwmark value lookup
// table", and the TUN's routes in `table` instead of main, so that only
// traffic carrying the mark takes the tunnel.
struct TunMark {
    std::uint32_t value = 0;
    std::uint32_t table = 0;

    friend bool operator==(const TunMark&, const TunMark&) = default;
};

// A TUN interface this daemon manages.
struct TunInterface {
    std::string name;
    net::InterfaceAddress address;
    std::optional<net::InterfaceAddress> address6{}; // its IPv6 /64's first host, with IPv6 on
    // The user and group that may attach to it without privileges, if any.
    std::optional<std::uint32_t> owner{};
    std::optional<std::uint32_t> group{};
    int mtu = default_tun_mtu;
    bool multi_queue = false; // one descriptor per queue (IFF_MULTI_QUEUE)
    std::vector<net::InterfaceAddress> extra_addresses{};
    std::vector<net::Cidr> routes{}; // routed to the TUN, in the mark's table when it has one
    std::optional<TunMark> mark{};

    friend bool operator==(const TunInterface&, const TunInterface&) = default;
};

// What a client asks of a new TUN. Owner and group are a user or group name,
// or a numeric id, as text; the backend resolves them.
struct TunSpec {
    std::optional<std::string> name{}; // none: the next free tunN
    std::optional<std::string> owner{};
    std::optional<std::string> group{};
    int mtu = default_tun_mtu;
    bool multi_queue = false;
    std::vector<net::InterfaceAddress> extra_addresses{};
    std::vector<net::Cidr> routes{};
    std::optional<TunMark> mark{};
};

// Something on the host that holds an IPv4 or IPv6 range: an interface address or a
// route. `holder` names it for a conflict message, e.g. "the address 10.1.0.1/24 on eth0".
struct Occupant {
    net::Cidr range;
    std::string holder;

    friend bool operator==(const Occupant&, const Occupant&) = default;
};

// Everything on the host that uses address space, this daemon's own interfaces
// included: every interface address and every route of the main table except
// default-like ones (prefix 0 or 1), which a VPN installs and which would
// otherwise block the whole pool. Both queries cost O(log n), not a dump, so
// that allocation stays as fast with 10,000 routes as with none.
//
// It is also the host-wide allocation lock (BasicLockable): held from
// reading the occupants until the new interface exists, it keeps two daemons
// on one host from picking the same free range at the same moment. lock()
// never waits: while another daemon holds it, it throws ErrorCode::busy
// before anything is changed, and the caller tries again later.
class HostNetwork {
public:
    virtual ~HostNetwork() = default;
    // Whether anything overlaps `range`: the allocator's check, asked once
    // per candidate block.
    virtual bool overlaps(const net::Cidr& range) = 0;
    // What overlaps `range`, named for a conflict message; nullopt when
    // nothing does.
    virtual std::optional<Occupant> find_overlap(const net::Cidr& range) = 0;
    virtual void lock() = 0;
    virtual void unlock() = 0;
};

class TunBackend {
public:
    virtual ~TunBackend() = default;

    // Creates a persistent TUN as `spec` asks, tags it as this daemon's,
    // configures `address` with its netmask and broadcast, and `address6`
    // when given (and the extra addresses and routes), and brings it up.
    // With a mark, also the rule "fwmark value lookup table" (for IPv6 too
    // when address6 is given), tagged, and the routes go in its table.
    // All or nothing: a failure after the link exists removes it again. A
    // taken name is a conflict, and so is a mark whose value or table a rule
    // or route already uses; an unknown owner or group is invalid, and so is
    // a mark where the OS has no fwmark.
    virtual TunInterface create(const TunSpec& spec, const net::InterfaceAddress& address,
                                const std::optional<net::InterfaceAddress>& address6) = 0;

    // Whether the OS routes by a packet's mark, as TunSpec::mark needs:
    // Linux does (fwmark); macOS has nothing like it.
    virtual bool supports_marks() const { return true; }

    // The name create() would give a TUN asked for without one, so that the
    // create can be journaled under it before the kernel is asked; nullopt
    // where the kernel picks the name itself (macOS's utun).
    virtual std::optional<std::string> next_name() = 0;

    // The TUNs that carry this daemon's tag, in name order.
    virtual std::vector<TunInterface> list() = 0;

    // Changes whenever what list() answers may have changed, so that a
    // caller may keep its last answer until then.
    virtual std::uint64_t generation() = 0;

    // Removes a tagged TUN, and its mark's rules. An absent or untagged one
    // is not_found.
    virtual void remove(std::string_view name) = 0;

    // A new descriptor of the tagged TUN `name`, open for its packets, which
    // tun-daemon hands to a client allowed to have it (tun/fd_access.hpp):
    // on macOS a utun has no name to open it by, so nobody else could ever
    // reach it. The caller owns it. An absent or untagged TUN is not_found;
    // one that takes a single descriptor and has it already is conflict.
    // `vnet_hdr` opens it with IFF_VNET_HDR (Linux; elsewhere invalid).
    virtual platform::UniqueFd attach(std::string_view name, bool vnet_hdr) = 0;
};

// A subnet this daemon manages: the network, the address it put on the host
// (the network's first host) and the interface that holds it.
struct Subnet {
    net::Cidr network;
    net::InterfaceAddress address;
    std::string interface;
    // The user who created it through --self-service. The kernel has nowhere
    // to keep it, so backends leave it empty and SubnetService fills it in
    // from the subnet's intent in the journal.
    std::optional<std::uint32_t> owner{};

    friend bool operator==(const Subnet&, const Subnet&) = default;
};

class SubnetBackend {
public:
    virtual ~SubnetBackend() = default;

    // Puts the first host address of `network` on an interface this daemon
    // owns and tags it. The interface is called `interface` where that name
    // is free and of the backend's kind (a restore asks for the old one);
    // otherwise, or when it is empty, the next free name. All or nothing,
    // like TunBackend::create.
    virtual Subnet add(const net::Cidr& network, const std::string& interface) = 0;

    // The subnets that carry this daemon's tag, in network order.
    virtual std::vector<Subnet> list() = 0;

    // Changes whenever what list() answers may have changed, so that a
    // caller may keep its last answer until then.
    virtual std::uint64_t generation() = 0;

    // Removes a tagged subnet (and its interface, where it has one of its own).
    // An absent or untagged one is not_found.
    virtual void remove(const net::Cidr& network) = 0;
};

} // namespace netd
