#include "fake_kernel.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "kernel_error.hpp"
#include "unique_fd.hpp"

namespace netd::testing {

std::optional<Occupant> FakeKernel::find_overlap(const net::Cidr& range) {
    auto all = foreign;
    for (const auto& [name, tun] : tuns) {
        auto addresses = tun.extra_addresses;
        addresses.push_back(tun.address);
        if (tun.address6) addresses.push_back(*tun.address6);
        for (const auto& address : addresses) {
            all.push_back({address.network(), "the address " + address.to_string() + " on " + name});
        }
        // A mark's routes are in a table of their own, not main.
        if (tun.mark) continue;
        for (const auto& route : tun.routes) all.push_back({route, "the route " + route.to_string() + " on " + name});
    }
    for (const auto& [network, subnet] : subnets) {
        all.push_back({network, "the address " + subnet.address.to_string() + " on " + subnet.interface});
    }
    for (const auto& occupant : all) {
        if (occupant.range.overlaps(range)) return occupant;
    }
    return std::nullopt;
}

void FakeKernel::throw_if_failing() {
    if (!fail_next) return;
    auto error = *fail_next;
    fail_next.reset();
    throw error;
}

bool FakeKernel::name_taken(const std::string& name) const {
    return tuns.contains(name) || std::find(foreign_links.begin(), foreign_links.end(), name) != foreign_links.end();
}

TunInterface FakeTunBackend::create(const TunSpec& spec, const net::InterfaceAddress& address,
                                    const std::optional<net::InterfaceAddress>& address6) {
    kernel_.throw_if_failing();
    auto chosen = spec.name.value_or("");
    for (int n = 0; chosen.empty(); ++n) {
        if (!kernel_.name_taken("tun" + std::to_string(n))) chosen = "tun" + std::to_string(n);
    }
    if (kernel_.name_taken(chosen)) fail(ErrorCode::conflict, "interface " + chosen + " already exists");
    if (spec.mark) {
        auto check = [](const std::map<std::uint32_t, std::string>& used, std::uint32_t number, const std::string& what) {
            if (auto it = used.find(number); it != used.end()) {
                fail(ErrorCode::conflict, what + " " + std::to_string(number) + " is taken: " + it->second);
            }
        };
        check(kernel_.foreign_marks, spec.mark->value, "fwmark");
        check(kernel_.foreign_tables, spec.mark->table, "table");
        for (const auto& [name, tun] : kernel_.tuns) {
            if (!tun.mark) continue;
            check({{tun.mark->value, "the mark of " + name}}, spec.mark->value, "fwmark");
            check({{tun.mark->table, "the mark of " + name}}, spec.mark->table, "table");
        }
    }
    // Only numeric ids: a fake has no user database.
    auto id = [](const std::optional<std::string>& text) -> std::optional<std::uint32_t> {
        if (!text) return std::nullopt;
        return static_cast<std::uint32_t>(std::stoul(*text));
    };
    return kernel_.tuns[chosen] =
               TunInterface{chosen,           address,          address6,   id(spec.owner),
                            id(spec.group),   spec.mtu,         spec.multi_queue, spec.extra_addresses,
                            spec.routes,      spec.mark};
}

std::optional<std::string> FakeTunBackend::next_name() {
    for (int n = 0;; ++n) {
        if (!kernel_.name_taken("tun" + std::to_string(n))) return "tun" + std::to_string(n);
    }
}

std::vector<TunInterface> FakeTunBackend::list() {
    std::vector<TunInterface> out;
    for (const auto& [name, tun] : kernel_.tuns) out.push_back(tun);
    return out;
}

void FakeTunBackend::remove(std::string_view name) {
    auto it = kernel_.tuns.find(std::string(name));
    if (it == kernel_.tuns.end()) fail(ErrorCode::not_found, "no TUN named " + std::string(name) + " is managed");
    kernel_.throw_if_failing();
    kernel_.tuns.erase(it);
}

platform::UniqueFd FakeTunBackend::attach(std::string_view name, bool /*vnet_hdr*/) {
    if (!kernel_.tuns.contains(std::string(name))) {
        fail(ErrorCode::not_found, "no TUN named " + std::string(name) + " is managed");
    }
    kernel_.throw_if_failing();
    platform::UniqueFd fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!fd) platform::fail_errno(errno, "opening /dev/null");
    return fd;
}

Subnet FakeSubnetBackend::add(const net::Cidr& network, const std::string& interface) {
    kernel_.throw_if_failing();
    auto label = interface.empty() ? "lo:" + std::to_string(kernel_.subnets.size()) : interface;
    return kernel_.subnets[network] = Subnet{network, net::InterfaceAddress::first_host_of(network), label};
}

std::vector<Subnet> FakeSubnetBackend::list() {
    std::vector<Subnet> out;
    for (const auto& [network, subnet] : kernel_.subnets) out.push_back(subnet);
    return out;
}

void FakeSubnetBackend::remove(const net::Cidr& network) {
    if (!kernel_.subnets.contains(network)) fail(ErrorCode::not_found, network.to_string() + " is not managed");
    kernel_.throw_if_failing();
    kernel_.subnets.erase(network);
}

std::vector<Claim> FakeCoordinator::claims() const {
    std::vector<Claim> out;
    for (const auto& [_, claim] : shared_.claims) out.push_back(claim);
    return out;
}

std::optional<Claim> FakeCoordinator::find_overlap(const net::Cidr& range) const {
    for (const auto& [block, claim] : shared_.claims) {
        if (block.overlaps(range)) return claim;
    }
    for (const auto& [ticket, outcome] : outcomes_) {
        if (outcome.state == ClaimOutcome::State::pending && outcome.block.overlaps(range)) {
            return Claim{outcome.block, node_, "test", "", ""};
        }
    }
    return std::nullopt;
}

ClaimOutcome FakeCoordinator::decide(const net::Cidr& block, const std::string& name, int attempt) {
    if (auto interfere = std::exchange(before_next_claim, nullptr)) interfere();
    if (!shared_.reachable) {
        return {ClaimOutcome::State::failed, block, attempt, {},
                Error(ErrorCode::unavailable, "the fake coordinator is unreachable")};
    }
    ++shared_.transactions;
    for (const auto& [held, claim] : shared_.claims) {
        if (held.overlaps(block)) return {ClaimOutcome::State::lost, block, attempt, claim, {}};
    }
    shared_.claims[block] = {block, node_, "test", name, "now"};
    return {ClaimOutcome::State::granted, block, attempt, {}, {}};
}

ClaimOutcome FakeCoordinator::claim(ClaimTicket ticket, const net::Cidr& block, const std::string& name,
                                    int attempt) {
    if (!asynchronous) return decide(block, name, attempt);
    ClaimOutcome pending{ClaimOutcome::State::pending, block, attempt, {}, {}};
    outcomes_[ticket] = pending;
    undecided_.emplace_back(ticket, name);
    return pending;
}

void FakeCoordinator::decide() {
    for (const auto& [ticket, name] : std::exchange(undecided_, {})) {
        auto& outcome = outcomes_.at(ticket);
        outcome = decide(outcome.block, name, outcome.attempt);
    }
}

std::optional<ClaimOutcome> FakeCoordinator::outcome(ClaimTicket ticket) {
    auto found = outcomes_.find(ticket);
    if (found == outcomes_.end()) return std::nullopt;
    auto outcome = found->second;
    if (outcome.state != ClaimOutcome::State::pending) outcomes_.erase(found);
    return outcome;
}

void FakeCoordinator::release(const net::Cidr& block) noexcept {
    auto it = shared_.claims.find(block);
    if (!shared_.reachable || it == shared_.claims.end() || it->second.node != node_) return;
    shared_.claims.erase(it);
}

} // namespace netd::testing
