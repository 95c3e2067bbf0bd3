#include "netd/subnet_service.hpp"

#include <limits>
#include <map>
#include <mutex>

#include "netd/error.hpp"

namespace netd {

SubnetService::SubnetService(SubnetBackend& backend, HostNetwork& host, Intents& intents, SubnetPolicy policy,
                             Coordinator& coordinator)
    : backend_(backend), host_(host), intents_(intents), policy_(policy), allocator_(policy.pool),
      coordinator_(coordinator) {
    net::check_family(policy.pool, net::Family::v4, "--pool");
    net::check_family(policy.pool6, net::Family::v6, "--pool6");
    allocator_.spread(coordinator.spread());
    sync();
}

std::set<net::Cidr> SubnetService::held_by(const std::vector<Subnet>& subnets) {
    std::set<net::Cidr> held;
    for (const auto& subnet : subnets) held.insert(subnet.network);
    return held;
}

std::vector<Subnet> SubnetService::sync() {
    auto subnets = backend_.list();
    allocator_.sync(held_by(subnets));
    return subnets;
}

void SubnetService::check_prefix_len(const net::Cidr& network) const {
    if (network.family() == net::Family::v4) {
        net::check_prefix_len(network.prefix_len(), policy_.min_prefix_len, policy_.max_prefix_len);
    } else {
        net::check_prefix_len(network.prefix_len(), policy_.min_prefix6_len, policy_.max_prefix6_len);
    }
}

Subnet SubnetService::add(const net::Cidr& network, std::optional<std::uint32_t> owner, ClaimTicket ticket) {
    check_prefix_len(network);
    net::check_assignable(network);
    net::check_host_address(net::InterfaceAddress::first_host_of(network)); // what goes on the host
    const auto& pool = network.family() == net::Family::v4 ? policy_.pool : policy_.pool6;
    if (!policy_.allow_outside_pool && !pool.contains(network)) {
        fail(ErrorCode::conflict, network.to_string() + " is outside the pool " + pool.to_string() +
                                      " (start subnet-daemon with --allow-outside-pool to permit it)");
    }
    std::lock_guard host_lock(host_);
    if (auto occupant = host_.find_overlap(network)) {
        // Our own subnets are on the host too; they are named as such.
        for (const auto& subnet : list()) {
            if (subnet.network.overlaps(network)) {
                fail(ErrorCode::conflict, network.to_string() + " overlaps the subnet " +
                                              subnet.network.to_string() + " on " + subnet.interface);
            }
        }
        fail(ErrorCode::conflict, network.to_string() + " overlaps " + occupant->holder);
    }
    claim_given(coordinator_, policy_.pool, network, "", ticket);
    try {
        auto subnet = add_journaled(network, owner);
        allocator_.hold(network);
        return subnet;
    } catch (...) {
        coordinator_.release(network);
        throw;
    }
}

// Write ahead, then act, then record it done; all or nothing (see TunService::create).
// The owner is in the begun record already, so that a start after a crash
// that completes the create (reconcile) keeps it.
Subnet SubnetService::add_journaled(const net::Cidr& network, std::optional<std::uint32_t> owner) {
    auto key = network.to_string();
    auto record_of = [&owner](const std::string& interface) {
        nlohmann::json record{{"interface", interface}};
        if (owner) record["owner"] = *owner;
        return record;
    };
    journal_or_fail([&] { intents_.begin(key, record_of("")); });
    Subnet subnet;
    bool made = false;
    try {
        subnet = backend_.add(network, "");
        subnet.owner = owner;
        made = true;
        journal_or_fail([&] { intents_.put(key, record_of(subnet.interface)); });
    } catch (...) {
        if (made) {
            try {
                backend_.remove(network);
            } catch (...) {
                // Kept by the kernel after all: the next start adopts it.
            }
        }
        try {
            intents_.abandon(key);
        } catch (...) {
            // Still begun in the journal: the next start drops it.
        }
        throw;
    }
    return subnet;
}

std::vector<Restored> SubnetService::reconcile() {
    std::map<std::string, nlohmann::json> present;
    for (const auto& subnet : sync()) present[subnet.network.to_string()] = {{"interface", subnet.interface}};
    return reconcile_intents(intents_, present);
}

std::vector<Restored> SubnetService::restore(bool kernel_restarted) {
    std::lock_guard host_lock(host_);
    std::vector<std::string> present;
    for (const auto& subnet : sync()) present.push_back(subnet.network.to_string());
    return restore_intents(
        intents_, present, host_,
        [](const std::string& cidr, const nlohmann::json&) { return std::vector{net::Cidr::parse(cidr)}; },
        [&](const std::string& cidr, const nlohmann::json& record) {
            auto network = net::Cidr::parse(cidr);
            backend_.add(network, record.value("interface", ""));
            allocator_.hold(network);
        },
        kernel_restarted);
}

Subnet SubnetService::allocate(int prefix_len, std::optional<std::uint32_t> owner, ClaimTicket ticket) {
    net::check_prefix_len(prefix_len, policy_.min_prefix_len, policy_.max_prefix_len);
    std::lock_guard host_lock(host_);
    auto block = allocate_claimed(allocator_, prefix_len, host_, [this] { return held_by(backend_.list()); },
                                  coordinator_, "", ticket);
    try {
        return add_journaled(block, owner);
    } catch (...) {
        allocator_.release(block);
        coordinator_.release(block);
        throw;
    }
}

const std::vector<Subnet>& SubnetService::list() {
    return listed_.get(backend_.generation(), [this] {
        auto subnets = sync();
        for (auto& subnet : subnets) subnet.owner = owner_of(subnet.network);
        return subnets;
    });
}

// A subnet's owner is the uid its intent names (a create begun and not yet
// recorded done names it too). A record without one, or with anything but a
// uid there, gives none: such a subnet is the admins' alone.
std::optional<std::uint32_t> SubnetService::owner_of(const net::Cidr& network) const {
    auto key = network.to_string();
    for (const auto* records : {&intents_.records(), &intents_.pending()}) {
        auto found = records->find(key);
        if (found == records->end()) continue;
        auto owner = found->second.find("owner");
        if (owner == found->second.end() || !owner->is_number_unsigned() ||
            owner->get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max()) {
            return std::nullopt;
        }
        return owner->get<std::uint32_t>();
    }
    return std::nullopt;
}

Subnet SubnetService::get(const net::Cidr& network) {
    for (const auto& subnet : list()) {
        if (subnet.network == network) return subnet;
    }
    fail(ErrorCode::not_found, "no subnet " + network.to_string() + " is managed by subnet-daemon");
}

void SubnetService::remove(const net::Cidr& network) {
    get(network);
    erase_ahead_of(intents_, network.to_string(), [&] { backend_.remove(network); });
    allocator_.release(network);
    coordinator_.release(network);
}

} // namespace netd
