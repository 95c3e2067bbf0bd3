#include <map>

#include "file_lock.hpp"
#include "netd/platform.hpp"
#include "kernel_mirror.hpp"

namespace netd::platform {
namespace {

// The host's IPv4 space as the kernel has it: every address, and every route
// of the main table but the default-like ones (/0 and /1), which VPNs use to
// capture all traffic and which would otherwise fill the whole pool.
class LinuxHostNetwork : public HostNetwork {
public:
    explicit LinuxHostNetwork(const std::string& lock_file) : lock_(lock_file) {}

    void lock() override { lock_.lock(); }
    void unlock() override { lock_.unlock(); }

    std::vector<Occupant> occupants() override {
        std::map<int, std::string> names;
        for (const auto& link : kernel_->links()) names[link.index] = link.name;
        auto name_of = [&](int index) { return names.contains(index) ? names[index] : "no interface"; };

        std::vector<Occupant> out;
        for (const auto& address : kernel_->addresses()) {
            auto holder = address.label.empty() ? name_of(address.index) : address.label;
            out.push_back({address.address.network(), "the address " + address.address.to_string() + " on " + holder});
        }
        for (const auto& route : kernel_->routes()) {
            if (route.destination.prefix_len() < 2) continue;
            out.push_back({route.destination,
                           "the route " + route.destination.to_string() + " on " + name_of(route.index)});
        }
        return out;
    }

private:
    std::shared_ptr<KernelMirror> kernel_ = KernelMirror::shared();
    FileLock lock_;
};

} // namespace

std::unique_ptr<HostNetwork> make_host_network(const std::string& lock_file) {
    return std::make_unique<LinuxHostNetwork>(lock_file);
}

} // namespace netd::platform
