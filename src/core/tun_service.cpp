#include "netd/tun_service.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "netd/error.hpp"
#include "netd/net/interface_name.hpp"
#include "netd/tun_mark.hpp"

namespace netd {

namespace {

// The name is the record's key; the rest is what recreating it needs.
nlohmann::json record_of(const TunSpec& spec, const net::InterfaceAddress& address,
                         const std::optional<net::InterfaceAddress>& address6) {
    nlohmann::json record{{"address", address.to_string()}, {"mtu", spec.mtu}};
    if (address6) record["address6"] = address6->to_string();
    if (spec.owner) record["owner"] = *spec.owner;
    if (spec.group) record["group"] = *spec.group;
    if (spec.multi_queue) record["multi_queue"] = true;
    if (!spec.extra_addresses.empty()) record["extra_addresses"] = net::to_strings(spec.extra_addresses);
    if (!spec.routes.empty()) record["routes"] = net::to_strings(spec.routes);
    if (spec.mark) record["mark"] = to_json(*spec.mark);
    return record;
}

// The same, read back from the kernel, for a TUN the journal lacks: owner
// and group as the ids the kernel holds.
nlohmann::json record_of(const TunInterface& tun) {
    nlohmann::json record{{"address", tun.address.to_string()}, {"mtu", tun.mtu}};
    if (tun.address6) record["address6"] = tun.address6->to_string();
    if (tun.owner) record["owner"] = std::to_string(*tun.owner);
    if (tun.group) record["group"] = std::to_string(*tun.group);
    if (tun.multi_queue) record["multi_queue"] = true;
    if (!tun.extra_addresses.empty()) record["extra_addresses"] = net::to_strings(tun.extra_addresses);
    if (!tun.routes.empty()) record["routes"] = net::to_strings(tun.routes);
    if (tun.mark) record["mark"] = to_json(*tun.mark);
    return record;
}

TunSpec spec_of(const std::string& name, const nlohmann::json& record) {
    auto optional_string = [&](const char* key) -> std::optional<std::string> {
        if (!record.contains(key)) return std::nullopt;
        return record.at(key).get<std::string>();
    };
    return {name,
            optional_string("owner"),
            optional_string("group"),
            record.value("mtu", default_tun_mtu),
            record.value("multi_queue", false),
            net::parse_all<net::InterfaceAddress>(record.value("extra_addresses", std::vector<std::string>{})),
            net::parse_all<net::Cidr>(record.value("routes", std::vector<std::string>{})),
            record.contains("mark") ? std::optional(mark_from_json(record.at("mark"))) : std::nullopt};
}

// What a TUN puts in the host's main table, to be checked for overlaps:
// its addresses, and its routes unless a mark puts them in a table of
// their own, where they hold nothing of the main table's space.
std::vector<net::Cidr> main_ranges_of(const TunSpec& spec, const net::InterfaceAddress& address,
                                      const std::optional<net::InterfaceAddress>& address6) {
    std::vector<net::Cidr> ranges{address.network()};
    if (address6) ranges.push_back(address6->network());
    for (const auto& extra : spec.extra_addresses) ranges.push_back(extra.network());
    if (!spec.mark) ranges.insert(ranges.end(), spec.routes.begin(), spec.routes.end());
    return ranges;
}

std::optional<net::InterfaceAddress> address6_of(const nlohmann::json& record) {
    if (!record.contains("address6")) return std::nullopt;
    return net::InterfaceAddress::parse(record.at("address6").get<std::string>());
}

void check_pool(const net::Cidr& pool, net::Family family, int block_prefix_len) {
    auto name = family == net::Family::v4 ? "--pool" : "--pool6";
    net::check_family(pool, family, name);
    if (pool.prefix_len() > block_prefix_len) {
        fail(ErrorCode::invalid, std::string(name) + " " + pool.to_string() + " is smaller than one /" +
                                     std::to_string(block_prefix_len) + " block");
    }
}

} // namespace

TunService::TunService(TunBackend& backend, HostNetwork& host, Intents& intents, net::Cidr pool, net::Cidr pool6,
                       Coordinator& coordinator)
    : backend_(backend), host_(host), intents_(intents), allocator_(pool), allocator6_(pool6),
      coordinator_(coordinator) {
    check_pool(pool, net::Family::v4, block_prefix_len);
    check_pool(pool6, net::Family::v6, block6_prefix_len);
    allocator_.spread(coordinator.spread());
    sync();
}

std::set<net::Cidr> TunService::held_by(const std::vector<TunInterface>& tuns) {
    std::set<net::Cidr> held;
    for (const auto& tun : tuns) held.insert(tun.address.network());
    return held;
}

std::set<net::Cidr> TunService::held6_by(const std::vector<TunInterface>& tuns) {
    std::set<net::Cidr> held;
    for (const auto& tun : tuns) {
        if (tun.address6) held.insert(tun.address6->network());
    }
    return held;
}

std::vector<TunInterface> TunService::sync() {
    auto tuns = backend_.list();
    allocator_.sync(held_by(tuns));
    allocator6_.sync(held6_by(tuns));
    return tuns;
}

void TunService::check_usable(const net::InterfaceAddress& address) {
    net::check_host_address(address);
    auto network = address.network();
    // IPv6 has no broadcast, and its all-zero host is an anycast address
    // that an interface may hold.
    bool edge = address.family() == net::Family::v4 && network.prefix_len() <= max_prefix_len &&
                (address.address() == network.first() || address.address() == network.broadcast());
    if (edge) {
        fail(ErrorCode::invalid, address.to_string() + " is its network's " +
                                     (address.address() == network.first() ? "network" : "broadcast") +
                                     " address, which an interface cannot use");
    }
}

// Everything the request adds to the host, the main addresses first: each
// must overlap nothing there (unless `on_host` is false), nor another of the
// same request.
void TunService::check_free(const std::vector<net::Cidr>& ranges, bool on_host) {
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        if (auto occupant = on_host ? host_.find_overlap(ranges[i]) : std::nullopt) {
            fail(ErrorCode::conflict, ranges[i].to_string() + " overlaps " + occupant->holder);
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (ranges[i].overlaps(ranges[j])) {
                fail(ErrorCode::conflict,
                     ranges[i].to_string() + " overlaps " + ranges[j].to_string() + " of the same request");
            }
        }
    }
}

TunInterface TunService::create(const TunSpec& asked, const TunAddressing& addressing,
                               ClaimTicket ticket) {
    // A persistent TUN with neither owner nor group lets anyone who may open
    // /dev/net/tun (0666 on most distributions) attach to it and read what
    // the host routes into it: it belongs to root unless the client says whom.
    TunSpec spec = asked;
    if (!spec.owner && !spec.group) spec.owner = "0";
    if (spec.name) net::validate_interface_name(*spec.name);
    if (addressing.address) {
        if (addressing.address->family() != net::Family::v4) {
            fail(ErrorCode::invalid, "\"address\" " + addressing.address->to_string() +
                                         " is not IPv4; the IPv6 one comes from \"ipv6\": true");
        }
        check_usable(*addressing.address);
    } else {
        net::check_prefix_len(addressing.prefix_len, allocator_.pool().prefix_len(), max_prefix_len);
    }
    if (addressing.ipv6 && spec.mtu < min_ipv6_mtu) {
        fail(ErrorCode::invalid, "IPv6 needs an MTU of at least 1280 (RFC 8200), not " + std::to_string(spec.mtu));
    }
    for (const auto& extra : spec.extra_addresses) {
        net::check_assignable(extra.network());
        check_usable(extra);
    }
    for (const auto& route : spec.routes) net::check_assignable(route);
    if (spec.mark) {
        if (!backend_.supports_marks()) {
            fail(ErrorCode::invalid, "\"mark\" is Linux only: this OS has no fwmark to route by");
        }
        check_mark(*spec.mark);
        // Nothing in the kernel but the routes in its table ties a rule to
        // the TUN, and without routes the rule would send marked traffic to
        // an empty table, which falls through to main: it would do nothing.
        if (spec.routes.empty()) {
            fail(ErrorCode::invalid, "\"mark\" needs \"routes\": they are what goes in table " +
                                         std::to_string(spec.mark->table));
        }
    }

    std::lock_guard host_lock(host_);
    std::vector<net::Cidr> allocated; // and to be given back if creating fails
    std::optional<net::Cidr> claimed;
    std::optional<std::string> begun; // the create journaled ahead, to abandon if it fails
    bool made = false;                // the kernel has it, to remove if journaling fails
    TunInterface tun;
    std::optional<net::InterfaceAddress> address6;
    auto address = addressing.address.value_or(net::InterfaceAddress{});
    try {
        auto claim_name = spec.name.value_or("");
        if (!addressing.address) {
            allocated.push_back(allocate_claimed(allocator_, addressing.prefix_len, host_,
                                                 [this] { return held_by(backend_.list()); }, coordinator_,
                                                 claim_name, ticket));
            claimed = allocated.back();
            address = net::InterfaceAddress::first_host_of(allocated.back());
        }
        if (addressing.ipv6) {
            allocated.push_back(
                allocator6_.allocate(block6_prefix_len, host_, [this] { return held6_by(backend_.list()); }));
            address6 = net::InterfaceAddress::first_host_of(allocated.back());
        }
        check_free(main_ranges_of(spec, address, address6));
        // In the mark's table they must only keep apart from one another.
        if (spec.mark) check_free(spec.routes, false);
        if (addressing.address) {
            claim_given(coordinator_, allocator_.pool(), address.network(), claim_name, ticket);
            claimed = address.network();
        }
        // Write ahead: the create is in the journal before the kernel hears
        // of it, so that a start after a crash in between finishes or undoes
        // it (reconcile) rather than leave a link nobody owns.
        auto named = spec;
        if (!named.name) named.name = backend_.next_name();
        auto record = record_of(spec, address, address6);
        if (named.name) {
            journal_or_fail([&] { intents_.begin(*named.name, record); });
            begun = named.name;
        }
        tun = backend_.create(named, address, address6);
        made = true;
        journal_or_fail([&] { intents_.put(tun.name, record); });
    } catch (...) {
        // All or nothing: what the journal cannot hold, the kernel does not keep.
        if (made) {
            try {
                backend_.remove(tun.name);
            } catch (...) {
                // Kept by the kernel after all: the next start adopts it.
            }
        }
        if (begun) {
            try {
                intents_.abandon(*begun);
            } catch (...) {
                // Still begun in the journal: the next start drops it.
            }
        }
        for (const auto& block : allocated) {
            (block.family() == net::Family::v4 ? allocator_ : allocator6_).release(block);
        }
        if (claimed) coordinator_.release(*claimed);
        throw;
    }
    if (addressing.address) allocator_.hold(address.network());
    // In address order, as every later listing of the kernel has them.
    std::sort(tun.extra_addresses.begin(), tun.extra_addresses.end());
    std::sort(tun.routes.begin(), tun.routes.end());
    return tun;
}

std::vector<Restored> TunService::reconcile() {
    std::map<std::string, nlohmann::json> present;
    for (const auto& tun : sync()) present[tun.name] = record_of(tun);
    // A create goes on after the address (the backend removes a TUN of ours
    // without one): extra addresses, the mark's rules, routes. Owner and
    // group come with the link, and are asked by name but read back as ids.
    static const auto whole = fields_made({"address", "address6", "mtu", "mark"}, {"extra_addresses", "routes"});
    return reconcile_intents(intents_, present, whole, [this](const std::string& name) { backend_.remove(name); });
}

std::optional<net::Cidr> TunService::pool6_in_use(const std::vector<TunInterface>& tuns) {
    static const auto unique_local = net::Cidr::parse("fd00::/8");
    std::map<net::Cidr, int> uses;
    for (const auto& tun : tuns) {
        if (tun.address6 && unique_local.contains(tun.address6->address())) {
            ++uses[net::Cidr::containing(tun.address6->address(), pool6_prefix_len)];
        }
    }
    if (uses.empty()) return std::nullopt;
    return std::max_element(uses.begin(), uses.end(), [](const auto& a, const auto& b) { return a.second < b.second; })
        ->first;
}

std::vector<Restored> TunService::restore(bool kernel_restarted) {
    std::lock_guard host_lock(host_);
    std::vector<std::string> present;
    for (const auto& tun : sync()) present.push_back(tun.name);
    auto address_of = [](const nlohmann::json& record) {
        return net::InterfaceAddress::parse(record.at("address").get<std::string>());
    };
    return restore_intents(
        intents_, present, host_,
        [&](const std::string& name, const nlohmann::json& record) {
            // Everything it puts on the host, as a create checks it.
            return main_ranges_of(spec_of(name, record), address_of(record), address6_of(record));
        },
        [&](const std::string& name, const nlohmann::json& record) {
            auto address = address_of(record);
            auto address6 = address6_of(record);
            backend_.create(spec_of(name, record), address, address6);
            allocator_.hold(address.network());
            if (address6) allocator6_.hold(address6->network());
        },
        kernel_restarted);
}

const std::vector<TunInterface>& TunService::list() {
    return listed_.get(backend_.generation(), [this] { return sync(); });
}

TunInterface TunService::get(const std::string& name) {
    for (const auto& tun : list()) {
        if (tun.name == name) return tun;
    }
    fail(ErrorCode::not_found, "no TUN named " + name + " is managed by tun-daemon");
}

void TunService::remove(const std::string& name) {
    auto tun = get(name);
    erase_ahead_of(intents_, name, [&] { backend_.remove(name); });
    allocator_.release(tun.address.network());
    coordinator_.release(tun.address.network());
    if (tun.address6) allocator6_.release(tun.address6->network());
}

} // namespace netd
