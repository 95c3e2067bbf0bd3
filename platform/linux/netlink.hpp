#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netd/error.hpp"
#include "kernel_error.hpp"
#include "netd/net/ip.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace netd::platform {

struct Link {
    int index = 0;
    std::string name;
    std::string kind;  // IFLA_INFO_KIND: "tun", "dummy", ... ("" for plain devices)
    std::string alias; // IFLA_IFALIAS, where the daemons keep their tag
    unsigned flags = 0;
    std::optional<std::uint32_t> tun_owner; // IFLA_TUN_OWNER / GROUP of a TUN, when set
    std::optional<std::uint32_t> tun_group;
    bool tun_multi_queue = false; // IFLA_TUN_MULTI_QUEUE
    int mtu = 0;                  // IFLA_MTU
};

struct Address {
    int index = 0;
    net::InterfaceAddress address;
    std::string label;      // IFA_LABEL, e.g. "lo:0"
    std::uint8_t proto = 0; // IFA_PROTO, 0 when absent
};

// The kernel's main routing table (RT_TABLE_MAIN).
inline constexpr std::uint32_t main_table = 254;

struct Route {
    net::Cidr destination;
    int index = 0;             // the output interface, 0 when none
    std::uint8_t protocol = 0; // rtm_protocol: who installed it
    std::uint32_t table = main_table;
};

// A FIB rule (policy routing) of IPv4 or IPv6: "fwmark F/M lookup T", as
// far as the daemons read them.
struct Rule {
    net::Family family = net::Family::v4;
    std::uint32_t priority = 0;
    std::uint32_t fwmark = 0; // 0 when the rule matches no mark
    std::uint32_t fwmask = 0;
    std::uint32_t table = 0;  // 0 when the rule does not look a table up
    std::uint8_t protocol = 0; // FRA_PROTOCOL: who installed it

    friend bool operator==(const Rule&, const Rule&) = default;
};

// What netd writes in IFA_PROTO and rtm_protocol to mark the addresses and
// routes it added: 0x4e ('N'), outside the values the kernel itself uses.
inline constexpr std::uint8_t netd_protocol = 0x4e;

// What to put on an interface with add_address.
struct AddressSpec {
    net::InterfaceAddress address;
    std::string label;      // empty: the kernel uses the interface name
    std::uint8_t proto = 0; // 0: none
};

// The kernel's messages about links, IPv4 and IPv6 addresses (but link-local
// ones), routes of the main table and netd's routes of any table, and
// IPv4 and IPv6 rules, parsed; nullopt for any other message (another
// family, another table). Dumps and event notifications share them.
std::optional<Link> parse_link(const nlmsghdr* message);
std::optional<Address> parse_address(const nlmsghdr* message);
std::optional<Route> parse_route(const nlmsghdr* message);
std::optional<Rule> parse_rule(const nlmsghdr* message);

// A NETLINK_ROUTE socket: dumps of links, addresses and main-table
// routes, and the few changes the daemons make. Every request is
// acknowledged, and a refusal is thrown as a KernelError.
//
// A dump that another process's changes interrupt (EINTR, or a reply
// flagged NLM_F_DUMP_INTR) is retried whole, a few times. After any failed
// exchange the socket is replaced before its next use: the rest of an
// abandoned reply would otherwise be read as the answer to the next request
// (EPROTO, for good).
class Netlink {
public:
    using Parser = std::function<void(const nlmsghdr*)>;

    // With `groups` (RTMGRP_* bits), the socket is non-blocking and
    // receives those notifications, for drain().
    explicit Netlink(unsigned groups = 0);
    ~Netlink();
    Netlink(const Netlink&) = delete;
    Netlink& operator=(const Netlink&) = delete;

    std::vector<Link> links();
    std::vector<Address> addresses();
    std::vector<Route> routes();
    std::vector<Rule> rules();
    // Every route of `table`, whoever made it (a dump of all tables,
    // filtered: asked for only when a mark is about to take the table).
    std::vector<Route> routes_in_table(std::uint32_t table);

    void create_link(const std::string& name, const std::string& kind);
    void delete_link(int index);
    // Removes a half-made link after a failure; that failure, not this
    // one's, is what the caller reports.
    void discard_link(int index) noexcept;
    // Deletes the links of `kind` tagged `alias` that hold no address:
    // what a daemon killed between creating a link and addressing it leaves.
    // Returns their names.
    std::vector<std::string> delete_unaddressed_links(const std::string& kind, const std::string& alias);

    // One message, one round trip: the tag comes first in what a crash can
    // leave behind (an up, tagged link without an address is reaped at start).
    // The MTU, when given, goes in the same message.
    void tag_and_bring_up(int index, const std::string& alias, std::optional<int> mtu = std::nullopt);
    void set_up(int index);
    void add_address(int index, const AddressSpec& spec);
    void delete_address(int index, const net::InterfaceAddress& address);
    // A route to `destination` out of interface `index` in `table`, marked
    // as netd's (netd_protocol).
    void add_route(int index, const net::Cidr& destination, std::uint32_t table = main_table);
    // The rule "fwmark value lookup table" of `family`, marked as netd's
    // (FRA_PROTOCOL netd_protocol); the kernel gives it its priority.
    void add_rule(net::Family family, std::uint32_t value, std::uint32_t table);
    void delete_rule(const Rule& rule);

    // Passes every queued notification to `each` without blocking. Returns
    // false when the kernel had to drop some (the receive buffer overflowed),
    // after which only a fresh dump tells the truth. Likewise after the
    // socket failed and was replaced.
    bool drain(const Parser& each);

    // How long a dump is tried while changes keep interrupting it: at least
    // dump_attempts times, and on for up to dump_patience (but never more
    // than dump_attempts_at_most times). One dump of thousands of addresses
    // takes milliseconds, several times that under a sanitizer, so a count
    // alone gave up on a busy host after a fraction of what a reader notices.
    static constexpr int dump_attempts = 16;
    static constexpr int dump_attempts_at_most = 128;
    static constexpr std::chrono::milliseconds dump_patience{250};

private:
    void open();
    // Replaces a socket that a failure left out of step; true if it did.
    bool recover();
    template <typename T>
    std::vector<T> collect(std::uint16_t type, std::size_t header_size, std::optional<T> (*parse)(const nlmsghdr*));
    // Sends the message in buffer_ and reads replies until the kernel is
    // done, passing each data message to `parse`; throws on an error reply.
    void exchange(const std::string& operation, const Parser& parse = {});
    nlmsghdr* start(std::uint16_t type, std::uint16_t flags);
    void dump(std::uint16_t type, std::size_t header_size, const Parser& parse);
    void change_link(int index, const std::string& operation, const std::function<void(nlmsghdr*)>& fill);

    unsigned groups_;
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> socket_;
    bool out_of_step_ = false; // a failure left replies or events unread
    std::vector<char> buffer_;
    std::vector<char> events_; // drain()'s batch of notifications, allocated at its first use
    unsigned port_ = 0;
    std::uint32_t sequence_ = 0;
};

// Throws the netd::Error that fits an errno from an ioctl or open.
} // namespace netd::platform
