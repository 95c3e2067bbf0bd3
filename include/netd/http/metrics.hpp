#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "netd/http/router.hpp"

namespace netd::http {

// A value the daemon reports at scrape time, such as its interface count.
struct Gauge {
    std::string name;
    std::string help;
    double value;
    std::string type = "gauge"; // or "counter", for a count since the start
};

// Request counts and latencies in Prometheus' text format. Requests are
// keyed by route pattern ("/tun/{}"), never by raw path, so that a client
// cannot grow the table without bound.
class Metrics {
public:
    void observe(verb method, const std::string& route, status code, double seconds);
    // The connection budget at work (see ConnectionBudget): an idle
    // connection closed to make room for a new one, and a new one answered
    // 503 because every open one had a request in flight.
    void count_eviction() { ++evicted_; }
    void count_refused_connection() { ++refused_connections_; }

    // The exposition text: the counters, the histogram and `gauges`.
    std::string render(const std::vector<Gauge>& gauges) const;

private:
    static constexpr std::array<double, 10> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                  0.025,  0.05,  0.1,    0.25,  1.0};
    std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
    std::array<std::uint64_t, bounds.size()> buckets_{};
    std::uint64_t count_ = 0;
    double sum_ = 0;
    std::uint64_t evicted_ = 0;
    std::uint64_t refused_connections_ = 0;
};

} // namespace netd::http
