#include "netd/tun_service.hpp"

#include <mutex>

#include "netd/error.hpp"
#include "netd/net/interface_name.hpp"

namespace netd {

TunService::TunService(TunBackend& backend, HostNetwork& host, net::Cidr pool)
    : backend_(backend), host_(host), allocator_(pool) {
    if (pool.prefix_len() > block_prefix_len) {
        fail(ErrorCode::invalid, "the pool " + pool.to_string() + " is smaller than one /24 block");
    }
    sync();
}

std::vector<TunInterface> TunService::sync() {
    auto tuns = backend_.list();
    std::set<net::Cidr> held;
    for (const auto& tun : tuns) held.insert(tun.address.network());
    allocator_.sync(std::move(held));
    return tuns;
}

TunInterface TunService::create(const TunSpec& spec) {
    if (spec.name) net::validate_interface_name(*spec.name);
    std::lock_guard host_lock(host_);
    sync();
    auto block = allocator_.allocate(block_prefix_len, host_.occupants());
    try {
        return backend_.create(spec, net::InterfaceAddress::first_host_of(block));
    } catch (...) {
        allocator_.release(block);
        throw;
    }
}

std::vector<TunInterface> TunService::list() { return sync(); }

TunInterface TunService::get(const std::string& name) {
    for (auto& tun : sync()) {
        if (tun.name == name) return tun;
    }
    fail(ErrorCode::not_found, "no TUN named " + name + " is managed by tun-daemon");
}

void TunService::remove(const std::string& name) {
    auto tun = get(name);
    backend_.remove(name);
    allocator_.release(tun.address.network());
}

} // namespace netd
