#include "file_lock.hpp"
#include "netd/platform/platform.hpp"
#include "kernel_mirror.hpp"

namespace netd::platform {
namespace {

// The host's IPv4 space as the kernel has it, from the mirror's index of
// the ranges that addresses and routes occupy.
class LinuxHostNetwork : public HostNetwork {
public:
    explicit LinuxHostNetwork(const std::string& lock_file) : lock_(lock_file) {}

    void lock() override { lock_.lock(); }
    void unlock() override { lock_.unlock(); }

    bool overlaps(const net::Cidr& range) override { return kernel_->find_occupied(range).has_value(); }

    // Only a conflict pays for naming the occupant, with a scan.
    std::optional<Occupant> find_overlap(const net::Cidr& range) override {
        auto occupied = kernel_->find_occupied(range);
        if (!occupied) return std::nullopt;
        const auto& links = kernel_->links();
        auto name_of = [&](int index) {
            auto link = links.find(index);
            return link == links.end() ? std::string("no interface") : link->second.name;
        };
        for (const auto& [_, address] : kernel_->addresses()) {
            if (address.address.network() != *occupied) continue;
            auto holder = address.label.empty() ? name_of(address.index) : address.label;
            return Occupant{*occupied, "the address " + address.address.to_string() + " on " + holder};
        }
        for (const auto& [_, route] : kernel_->routes()) {
            if (route.destination == *occupied && route.table == main_table) {
                return Occupant{*occupied, "the route " + occupied->to_string() + " on " + name_of(route.index)};
            }
        }
        return Occupant{*occupied, occupied->to_string()};
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
