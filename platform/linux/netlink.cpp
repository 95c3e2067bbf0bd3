#include "netlink.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <set>

namespace netd::platform {
namespace {

// Older kernel headers lack it; the kernel has understood it since 6.0.
#ifndef IFA_PROTO
constexpr int ifa_proto_attribute = 11;
#else
constexpr int ifa_proto_attribute = IFA_PROTO;
#endif

// Since 4.17; older kernel headers lack it.
#ifndef FRA_PROTOCOL
constexpr int fra_protocol_attribute = 21;
#else
constexpr int fra_protocol_attribute = FRA_PROTOCOL;
#endif

// Large enough for any one dump batch the kernel sends.
constexpr std::size_t buffer_size = 64 * 1024;

// An IPv4 or IPv6 address, told apart by its length; nullopt for any other.
std::optional<net::IpAddress> address_of(const nlattr* attribute) {
    auto size = mnl_attr_get_payload_len(attribute);
    if (size != 4 && size != 16) return std::nullopt;
    return net::IpAddress::from_bytes(static_cast<const std::uint8_t*>(mnl_attr_get_payload(attribute)), size);
}

unsigned char family_of(net::Family family) { return family == net::Family::v4 ? AF_INET : AF_INET6; }

// Calls `each(type, attribute)` for every top-level attribute after the
// family header of `header_size` bytes.
template <typename Each>
void for_each_attribute(const nlmsghdr* message, std::size_t header_size, Each each) {
    mnl_attr_parse(
        message, static_cast<unsigned>(header_size),
        [](const nlattr* attribute, void* data) {
            (*static_cast<Each*>(data))(mnl_attr_get_type(attribute), attribute);
            return MNL_CB_OK;
        },
        &each);
}

// Calls `each(type, attribute)` for every attribute nested in `parent`.
template <typename Each>
void for_each_nested(const nlattr* parent, Each each) {
    mnl_attr_parse_nested(
        parent,
        [](const nlattr* attribute, void* data) {
            (*static_cast<Each*>(data))(mnl_attr_get_type(attribute), attribute);
            return MNL_CB_OK;
        },
        &each);
}

// IFLA_LINKINFO: the kind, and for a TUN who may attach to it.
void parse_linkinfo(const nlattr* linkinfo, Link& link) {
    for_each_nested(linkinfo, [&](int type, const nlattr* attribute) {
        if (type == IFLA_INFO_KIND) link.kind = mnl_attr_get_str(attribute);
        if (type != IFLA_INFO_DATA) return;
        for_each_nested(attribute, [&](int data_type, const nlattr* data) {
            if (data_type == IFLA_TUN_OWNER) link.tun_owner = mnl_attr_get_u32(data);
            if (data_type == IFLA_TUN_MULTI_QUEUE) link.tun_multi_queue = mnl_attr_get_u8(data) != 0;
            if (data_type == IFLA_TUN_GROUP) link.tun_group = mnl_attr_get_u32(data);
        });
    });
}

void put_address(nlmsghdr* message, std::uint16_t type, net::IpAddress address) {
    auto bytes = address.bytes();
    mnl_attr_put(message, type, address.byte_size(), bytes.data());
}

} // namespace

Netlink::Netlink(unsigned groups) : groups_(groups), socket_(nullptr, mnl_socket_close), buffer_(buffer_size) {
    open();
}

void Netlink::open() {
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> fresh(
        mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | (groups_ ? SOCK_NONBLOCK : 0)), mnl_socket_close);
    if (!fresh) fail_errno(errno, "opening a netlink socket");
    if (mnl_socket_bind(fresh.get(), groups_, MNL_SOCKET_AUTOPID) < 0) fail_errno(errno, "binding a netlink socket");
    socket_ = std::move(fresh);
    port_ = mnl_socket_get_portid(socket_.get());
    out_of_step_ = false;
}

bool Netlink::recover() {
    if (!out_of_step_) return false;
    open();
    return true;
}

bool Netlink::drain(const Parser& each) {
    // A fresh socket has missed whatever happened since the old one failed.
    if (recover()) return false;
    // Each notification is a datagram of its own, and a TUN's creation makes
    // about ten; recvmmsg reads them in one system call, not one each.
    constexpr std::size_t batch = 32, slot_size = 8192;
    if (events_.size() < batch * slot_size) events_.resize(batch * slot_size);
    std::array<iovec, batch> slots{};
    std::array<mmsghdr, batch> messages{};
    for (std::size_t i = 0; i < batch; ++i) {
        slots[i] = {events_.data() + i * slot_size, slot_size};
        messages[i].msg_hdr.msg_iov = &slots[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    for (;;) {
        auto received = ::recvmmsg(mnl_socket_get_fd(socket_.get()), messages.data(), batch, MSG_DONTWAIT, nullptr);
        if (received < 0 && errno == EAGAIN) return true;
        if (received < 0 && errno == ENOBUFS) return false; // the kernel dropped events
        if (received < 0) {
            out_of_step_ = true;
            fail_errno(errno, "reading the kernel's events");
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(received); ++i) {
            if (messages[i].msg_hdr.msg_flags & MSG_TRUNC) return false; // lost in part: start over from a dump
            // Notifications carry sequence 0 and port 0, so neither is checked.
            mnl_cb_run(
                slots[i].iov_base, messages[i].msg_len, 0, 0,
                [](const nlmsghdr* message, void* data) {
                    (*static_cast<const Parser*>(data))(message);
                    return MNL_CB_OK;
                },
                const_cast<Parser*>(&each));
        }
        // A short batch means the queue ran dry.
        if (static_cast<std::size_t>(received) < batch) return true;
    }
}

Netlink::~Netlink() = default;

nlmsghdr* Netlink::start(std::uint16_t type, std::uint16_t flags) {
    auto* message = mnl_nlmsg_put_header(buffer_.data());
    message->nlmsg_type = type;
    message->nlmsg_flags = NLM_F_REQUEST | flags;
    message->nlmsg_seq = ++sequence_;
    return message;
}

void Netlink::exchange(const std::string& operation, const Parser& parse) {
    recover();
    // Whatever ends this exchange early leaves the rest of the reply queued.
    auto failed = [&](int error_number) {
        out_of_step_ = true;
        fail_errno(error_number, operation);
    };
    auto* message = reinterpret_cast<nlmsghdr*>(buffer_.data());
    if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) failed(errno);
    struct Context {
        const Parser* parse;
    } context{&parse};
    auto on_data = [](const nlmsghdr* reply, void* data) {
        const auto* context = static_cast<Context*>(data);
        if (*context->parse) (*context->parse)(reply);
        return MNL_CB_OK;
    };
    for (;;) {
        auto received = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
        if (received < 0) failed(errno);
        // libmnl reports a batch flagged NLM_F_DUMP_INTR as EINTR.
        auto result = mnl_cb_run(buffer_.data(), static_cast<std::size_t>(received), sequence_, port_, on_data, &context);
        if (result == MNL_CB_ERROR) failed(errno);
        if (result == MNL_CB_STOP) return;
    }
}

void Netlink::dump(std::uint16_t type, std::size_t header_size, const Parser& parse) {
    auto* message = start(type, NLM_F_DUMP);
    auto* family = static_cast<unsigned char*>(mnl_nlmsg_put_extra_header(message, header_size));
    // Every family header starts with its address family byte: both IPv4
    // and IPv6 are asked for.
    family[0] = AF_UNSPEC;
    exchange("reading the kernel's interfaces", parse);
}

std::optional<Link> parse_link(const nlmsghdr* message) {
    if (message->nlmsg_type != RTM_NEWLINK && message->nlmsg_type != RTM_DELLINK) return std::nullopt;
    const auto* info = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
    Link link;
    link.index = info->ifi_index;
    link.flags = info->ifi_flags;
    for_each_attribute(message, sizeof(ifinfomsg), [&](int type, const nlattr* attribute) {
        if (type == IFLA_IFNAME) link.name = mnl_attr_get_str(attribute);
        if (type == IFLA_IFALIAS) link.alias = mnl_attr_get_str(attribute);
        if (type == IFLA_MTU) link.mtu = static_cast<int>(mnl_attr_get_u32(attribute));
        if (type == IFLA_LINKINFO) parse_linkinfo(attribute, link);
    });
    return link;
}

std::optional<Address> parse_address(const nlmsghdr* message) {
    if (message->nlmsg_type != RTM_NEWADDR && message->nlmsg_type != RTM_DELADDR) return std::nullopt;
    const auto* info = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(message));
    if (info->ifa_family != AF_INET && info->ifa_family != AF_INET6) return std::nullopt;
    // IPv6 link-local addresses (fe80::/10) come with every interface and
    // hold nothing anyone allocates; keeping them out also keeps a TUN that
    // has only its link-local address unaddressed, to be reaped.
    if (info->ifa_scope == RT_SCOPE_LINK) return std::nullopt;
    std::optional<net::IpAddress> local, peer;
    Address address;
    address.index = static_cast<int>(info->ifa_index);
    for_each_attribute(message, sizeof(ifaddrmsg), [&](int type, const nlattr* attribute) {
        if (type == IFA_LOCAL) local = address_of(attribute);
        if (type == IFA_ADDRESS) peer = address_of(attribute);
        if (type == IFA_LABEL) address.label = mnl_attr_get_str(attribute);
        if (type == ifa_proto_attribute) address.proto = mnl_attr_get_u8(attribute);
    });
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the same
    // except on point-to-point links, where it is the peer's.
    auto own = local ? local : peer;
    if (!own) return std::nullopt;
    address.address = net::InterfaceAddress(*own, info->ifa_prefixlen);
    return address;
}

namespace {

// A route of any table.
std::optional<Route> parse_any_route(const nlmsghdr* message) {
    if (message->nlmsg_type != RTM_NEWROUTE && message->nlmsg_type != RTM_DELROUTE) return std::nullopt;
    const auto* info = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(message));
    if (info->rtm_family != AF_INET && info->rtm_family != AF_INET6) return std::nullopt;
    std::uint32_t table = info->rtm_table;
    // Without RTA_DST the route is the family's default.
    net::IpAddress destination(info->rtm_family == AF_INET ? net::Family::v4 : net::Family::v6, 0);
    int index = 0;
    for_each_attribute(message, sizeof(rtmsg), [&](int type, const nlattr* attribute) {
        if (type == RTA_TABLE) table = mnl_attr_get_u32(attribute);
        if (type == RTA_DST) destination = address_of(attribute).value_or(destination);
        if (type == RTA_OIF) index = static_cast<int>(mnl_attr_get_u32(attribute));
    });
    return Route{net::Cidr(destination, info->rtm_dst_len), index, info->rtm_protocol, table};
}

// The table's number in a header's byte where it fits; beyond that the
// header says "unspecified" and the attribute carries it.
unsigned char header_table(std::uint32_t table) {
    return table < 256 ? static_cast<unsigned char>(table) : static_cast<unsigned char>(RT_TABLE_UNSPEC);
}

} // namespace

std::optional<Route> parse_route(const nlmsghdr* message) {
    // The local table's routes (one per address and broadcast) and other
    // programs' tables are of no use to the mirror, which would only grow.
    auto route = parse_any_route(message);
    if (!route || (route->table != main_table && route->protocol != netd_protocol)) return std::nullopt;
    return route;
}

std::optional<Rule> parse_rule(const nlmsghdr* message) {
    if (message->nlmsg_type != RTM_NEWRULE && message->nlmsg_type != RTM_DELRULE) return std::nullopt;
    const auto* header = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(message));
    if (header->family != AF_INET && header->family != AF_INET6) return std::nullopt;
    Rule rule;
    rule.family = header->family == AF_INET ? net::Family::v4 : net::Family::v6;
    if (header->action == FR_ACT_TO_TBL) rule.table = header->table;
    for_each_attribute(message, sizeof(fib_rule_hdr), [&](int type, const nlattr* attribute) {
        if (type == FRA_PRIORITY) rule.priority = mnl_attr_get_u32(attribute);
        if (type == FRA_FWMARK) rule.fwmark = mnl_attr_get_u32(attribute);
        if (type == FRA_FWMASK) rule.fwmask = mnl_attr_get_u32(attribute);
        if (type == FRA_TABLE && header->action == FR_ACT_TO_TBL) rule.table = mnl_attr_get_u32(attribute);
        if (type == fra_protocol_attribute) rule.protocol = mnl_attr_get_u8(attribute);
    });
    return rule;
}

template <typename T>
std::vector<T> Netlink::collect(std::uint16_t type, std::size_t header_size,
                                std::optional<T> (*parse)(const nlmsghdr*)) {
    // An interrupted dump may have skipped or repeated entries: only a whole
    // one that ran undisturbed is kept.
    const auto since = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
        std::vector<T> out;
        try {
            dump(type, header_size, [&](const nlmsghdr* message) {
                if (auto item = parse(message)) out.push_back(std::move(*item));
            });
            return out;
        } catch (const KernelError& error) {
            if (error.error_number() != EINTR) throw;
            bool patient = attempt < dump_attempts ||
                           (attempt < dump_attempts_at_most && std::chrono::steady_clock::now() - since < dump_patience);
            if (!patient) {
                fail(ErrorCode::unavailable, "reading the kernel's interfaces: interrupted by other changes " +
                                                 std::to_string(attempt) + " times in a row; try again");
            }
        }
    }
}

std::vector<Link> Netlink::links() { return collect<Link>(RTM_GETLINK, sizeof(ifinfomsg), parse_link); }

std::vector<Address> Netlink::addresses() { return collect<Address>(RTM_GETADDR, sizeof(ifaddrmsg), parse_address); }

std::vector<Route> Netlink::routes() { return collect<Route>(RTM_GETROUTE, sizeof(rtmsg), parse_route); }

std::vector<Rule> Netlink::rules() { return collect<Rule>(RTM_GETRULE, sizeof(fib_rule_hdr), parse_rule); }

std::vector<Route> Netlink::routes_in_table(std::uint32_t table) {
    auto all = collect<Route>(RTM_GETROUTE, sizeof(rtmsg), parse_any_route);
    std::erase_if(all, [table](const Route& route) { return route.table != table; });
    return all;
}

void Netlink::create_link(const std::string& name, const std::string& kind) {
    auto* message = start(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
    info->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(message, IFLA_IFNAME, name.c_str());
    auto* linkinfo = mnl_attr_nest_start(message, IFLA_LINKINFO);
    mnl_attr_put_strz(message, IFLA_INFO_KIND, kind.c_str());
    mnl_attr_nest_end(message, linkinfo);
    exchange("creating the " + kind + " interface " + name);
}

void Netlink::change_link(int index, const std::string& operation, const std::function<void(nlmsghdr*)>& fill) {
    auto* message = start(RTM_NEWLINK, NLM_F_ACK);
    auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
    info->ifi_family = AF_UNSPEC;
    info->ifi_index = index;
    fill(message);
    exchange(operation);
}

void Netlink::delete_link(int index) {
    auto* message = start(RTM_DELLINK, NLM_F_ACK);
    auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
    info->ifi_family = AF_UNSPEC;
    info->ifi_index = index;
    exchange("deleting interface " + std::to_string(index));
}

void Netlink::discard_link(int index) noexcept {
    try {
        delete_link(index);
    } catch (const std::exception&) {
    }
}

std::vector<std::string> Netlink::delete_unaddressed_links(const std::string& kind, const std::string& alias) {
    std::set<int> addressed;
    for (const auto& address : addresses()) addressed.insert(address.index);
    std::vector<std::string> deleted;
    for (const auto& link : links()) {
        if (link.kind != kind || link.alias != alias || addressed.contains(link.index)) continue;
        delete_link(link.index);
        deleted.push_back(link.name);
    }
    return deleted;
}

namespace {

void bring_up(nlmsghdr* message) {
    auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(message));
    info->ifi_flags = IFF_UP;
    info->ifi_change = IFF_UP;
}

} // namespace

void Netlink::tag_and_bring_up(int index, const std::string& alias, std::optional<int> mtu) {
    change_link(index, "tagging interface " + std::to_string(index) + " and bringing it up", [&](nlmsghdr* message) {
        bring_up(message);
        mnl_attr_put_strz(message, IFLA_IFALIAS, alias.c_str());
        if (mtu) mnl_attr_put_u32(message, IFLA_MTU, static_cast<std::uint32_t>(*mtu));
    });
}

void Netlink::set_up(int index) { change_link(index, "bringing interface " + std::to_string(index) + " up", bring_up); }

void Netlink::add_address(int index, const AddressSpec& spec) {
    auto* message = start(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    auto* info = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
    info->ifa_family = family_of(spec.address.family());
    info->ifa_prefixlen = static_cast<unsigned char>(spec.address.prefix_len());
    info->ifa_index = static_cast<unsigned>(index);
    info->ifa_scope = RT_SCOPE_UNIVERSE;
    put_address(message, IFA_LOCAL, spec.address.address());
    put_address(message, IFA_ADDRESS, spec.address.address());
    if (spec.address.family() == net::Family::v4 && spec.address.prefix_len() < 31) {
        put_address(message, IFA_BROADCAST, spec.address.network().broadcast());
    }
    // Duplicate address detection would hold an IPv6 address back for a
    // second or more; the daemon has already checked that nothing overlaps.
    if (spec.address.family() == net::Family::v6) mnl_attr_put_u32(message, IFA_FLAGS, IFA_F_NODAD);
    if (!spec.label.empty()) mnl_attr_put_strz(message, IFA_LABEL, spec.label.c_str());
    if (spec.proto != 0) mnl_attr_put_u8(message, ifa_proto_attribute, spec.proto);
    exchange("adding " + spec.address.to_string() + " to interface " + std::to_string(index));
}

void Netlink::add_route(int index, const net::Cidr& destination, std::uint32_t table) {
    auto* message = start(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    auto* info = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
    info->rtm_family = family_of(destination.family());
    info->rtm_dst_len = static_cast<unsigned char>(destination.prefix_len());
    info->rtm_table = header_table(table);
    info->rtm_protocol = netd_protocol;
    // IPv6 routes have no scope of their own.
    info->rtm_scope = destination.family() == net::Family::v4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    info->rtm_type = RTN_UNICAST;
    put_address(message, RTA_DST, destination.network());
    mnl_attr_put_u32(message, RTA_OIF, static_cast<std::uint32_t>(index));
    mnl_attr_put_u32(message, RTA_TABLE, table);
    exchange("routing " + destination.to_string() + " to interface " + std::to_string(index) +
             (table == main_table ? "" : " in table " + std::to_string(table)));
}

namespace {

// RTM_NEWRULE and RTM_DELRULE name a rule alike.
void put_rule(nlmsghdr* message, net::Family family, std::uint32_t value, std::uint32_t mask, std::uint32_t table) {
    auto* header = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(message, sizeof(fib_rule_hdr)));
    header->family = family_of(family);
    header->action = FR_ACT_TO_TBL;
    header->table = header_table(table);
    mnl_attr_put_u32(message, FRA_FWMARK, value);
    mnl_attr_put_u32(message, FRA_FWMASK, mask);
    mnl_attr_put_u32(message, FRA_TABLE, table);
    mnl_attr_put_u8(message, fra_protocol_attribute, netd_protocol);
}

std::string rule_text(net::Family family, std::uint32_t value, std::uint32_t table) {
    return std::string(family == net::Family::v4 ? "the IPv4" : "the IPv6") + " rule fwmark " +
           std::to_string(value) + " lookup " + std::to_string(table);
}

} // namespace

void Netlink::add_rule(net::Family family, std::uint32_t value, std::uint32_t table) {
    // All of the mark's bits: a mask would let other marks match too.
    put_rule(start(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), family, value, 0xffffffffu, table);
    exchange("adding " + rule_text(family, value, table));
}

void Netlink::delete_rule(const Rule& rule) {
    auto* message = start(RTM_DELRULE, NLM_F_ACK);
    put_rule(message, rule.family, rule.fwmark, rule.fwmask, rule.table);
    // Without a priority the kernel deletes the first rule that matches the
    // rest, whatever its priority.
    if (rule.priority != 0) mnl_attr_put_u32(message, FRA_PRIORITY, rule.priority);
    exchange("deleting " + rule_text(rule.family, rule.fwmark, rule.table));
}

void Netlink::delete_address(int index, const net::InterfaceAddress& address) {
    auto* message = start(RTM_DELADDR, NLM_F_ACK);
    auto* info = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
    info->ifa_family = family_of(address.family());
    info->ifa_prefixlen = static_cast<unsigned char>(address.prefix_len());
    info->ifa_index = static_cast<unsigned>(index);
    put_address(message, IFA_LOCAL, address.address());
    exchange("removing " + address.to_string() + " from interface " + std::to_string(index));
}

} // namespace netd::platform
