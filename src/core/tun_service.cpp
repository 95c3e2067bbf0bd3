#include "netd/tun_service.hpp"

#include <mutex>

#include "netd/error.hpp"
#include "netd/net/interface_name.hpp"

namespace netd {

namespace {

// The name is the record's key; the rest is what recreating it needs.
nlohmann::json record_of(const TunSpec& spec, const net::InterfaceAddress& address) {
    nlohmann::json record{{"address", address.to_string()}, {"mtu", spec.mtu}};
    if (spec.owner) record["owner"] = *spec.owner;
    if (spec.group) record["group"] = *spec.group;
    if (spec.multi_queue) record["multi_queue"] = true;
    if (!spec.extra_addresses.empty()) record["extra_addresses"] = net::to_strings(spec.extra_addresses);
    if (!spec.routes.empty()) record["routes"] = net::to_strings(spec.routes);
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
            net::parse_all<net::Cidr>(record.value("routes", std::vector<std::string>{}))};
}

} // namespace

TunService::TunService(TunBackend& backend, HostNetwork& host, Intents& intents, net::Cidr pool)
    : backend_(backend), host_(host), intents_(intents), allocator_(pool) {
    if (pool.prefix_len() > block_prefix_len) {
        fail(ErrorCode::invalid, "the pool " + pool.to_string() + " is smaller than one /24 block");
    }
    sync();
}

std::set<net::Cidr> TunService::held_by(const std::vector<TunInterface>& tuns) {
    std::set<net::Cidr> held;
    for (const auto& tun : tuns) held.insert(tun.address.network());
    return held;
}

std::vector<TunInterface> TunService::sync() {
    auto tuns = backend_.list();
    allocator_.sync(held_by(tuns));
    return tuns;
}

void TunService::check_usable(const net::InterfaceAddress& address) {
    auto network = address.network();
    bool edge = network.prefix_len() <= max_prefix_len &&
                (address.address() == network.first() || address.address() == network.broadcast());
    if (edge) {
        fail(ErrorCode::invalid, address.to_string() + " is its network's " +
                                     (address.address() == network.first() ? "network" : "broadcast") +
                                     " address, which an interface cannot use");
    }
}

// Everything the request adds to the host, the main address first: each must
// overlap nothing there, nor another of the same request.
void TunService::check_free(const std::vector<net::Cidr>& ranges, std::size_t first_unchecked) {
    for (std::size_t i = first_unchecked; i < ranges.size(); ++i) {
        if (auto occupant = host_.find_overlap(ranges[i])) {
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

TunInterface TunService::create(const TunSpec& spec, const TunAddressing& addressing) {
    if (spec.name) net::validate_interface_name(*spec.name);
    if (addressing.address) {
        check_usable(*addressing.address);
    } else {
        net::check_prefix_len(addressing.prefix_len, allocator_.pool().prefix_len(), max_prefix_len);
    }
    for (const auto& extra : spec.extra_addresses) check_usable(extra);

    std::lock_guard host_lock(host_);
    std::vector<net::Cidr> ranges;
    std::optional<net::Cidr> allocated;
    if (addressing.address) {
        ranges.push_back(addressing.address->network());
    } else {
        allocated = allocator_.allocate(addressing.prefix_len, host_, [this] { return held_by(backend_.list()); });
        ranges.push_back(*allocated);
    }
    auto address = addressing.address ? *addressing.address : net::InterfaceAddress::first_host_of(*allocated);
    for (const auto& extra : spec.extra_addresses) ranges.push_back(extra.network());
    ranges.insert(ranges.end(), spec.routes.begin(), spec.routes.end());
    TunInterface tun;
    try {
        check_free(ranges, allocated ? 1 : 0);
        tun = backend_.create(spec, address);
    } catch (...) {
        if (allocated) allocator_.release(*allocated);
        throw;
    }
    if (!allocated) allocator_.hold(address.network());
    intents_.put(tun.name, record_of(spec, address));
    return tun;
}

std::vector<Restored> TunService::restore() {
    std::lock_guard host_lock(host_);
    std::vector<std::string> present;
    for (const auto& tun : sync()) present.push_back(tun.name);
    auto address_of = [](const nlohmann::json& record) {
        return net::InterfaceAddress::parse(record.at("address").get<std::string>());
    };
    return restore_intents(
        intents_, present, host_,
        [&](const std::string&, const nlohmann::json& record) { return address_of(record).network(); },
        [&](const std::string& name, const nlohmann::json& record) {
            auto address = address_of(record);
            backend_.create(spec_of(name, record), address);
            allocator_.hold(address.network());
        });
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
    backend_.remove(name);
    allocator_.release(tun.address.network());
    intents_.erase(name);
}

} // namespace netd
