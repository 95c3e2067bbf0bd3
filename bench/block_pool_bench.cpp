// The allocator's costs: a whole /8 of /24s, random churn, and allocation
// with many host routes in the way. Run with `make bench`.

#include <benchmark/benchmark.h>

#include <random>

#include "netd/allocator.hpp"
#include "netd/net/block_pool.hpp"
#include "netd/net/range_set.hpp"

namespace {

using netd::net::BlockPool;
using netd::net::Cidr;

void allocate_whole_slash8(benchmark::State& state) {
    for (auto _ : state) {
        BlockPool pool(Cidr::parse("10.0.0.0/8"), 24);
        while (pool.allocate()) {
        }
        benchmark::DoNotOptimize(pool.free_count());
    }
    state.SetItemsProcessed(state.iterations() * 65536);
}
BENCHMARK(allocate_whole_slash8)->Unit(benchmark::kMillisecond);

void random_occupy_release(benchmark::State& state) {
    BlockPool pool(Cidr::parse("10.0.0.0/8"), 24);
    std::mt19937 random(42);
    std::uniform_int_distribution<std::uint32_t> block(0, 65535);
    for (auto _ : state) {
        auto range = Cidr(netd::net::IpAddress::v4((10u << 24) | (block(random) << 8)), 24);
        if (random() & 1) {
            pool.occupy(range);
        } else {
            pool.release(range);
        }
    }
}
BENCHMARK(random_occupy_release);

// The host as the Linux backend sees it: occupied ranges in a RangeSet.
class RoutedHost : public netd::HostNetwork {
public:
    bool overlaps(const Cidr& range) override { return routes.find_overlap(range).has_value(); }
    std::optional<netd::Occupant> find_overlap(const Cidr& range) override {
        auto hit = routes.find_overlap(range);
        if (!hit) return std::nullopt;
        return netd::Occupant{*hit, "the route " + hit->to_string()};
    }
    void lock() override {}
    void unlock() override {}

    netd::net::RangeSet routes;
};

// 10,000 /32 host routes spread over the pool; each allocation must skip
// the blocks they fall in.
void allocate_among_host_routes(benchmark::State& state) {
    RoutedHost host;
    for (std::uint32_t i = 0; i < 10000; ++i) {
        host.routes.insert(Cidr(netd::net::IpAddress::v4((10u << 24) | (i * 977 % 65536) << 8 | 1), 32));
    }
    auto nothing_held = [] { return std::set<Cidr>{}; };
    for (auto _ : state) {
        state.PauseTiming();
        netd::Allocator allocator(Cidr::parse("10.0.0.0/8"));
        state.ResumeTiming();
        for (int i = 0; i < 1000; ++i) benchmark::DoNotOptimize(allocator.allocate(24, host, nothing_held));
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(allocate_among_host_routes)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
