#include "netd/http/metrics.hpp"

#include <fmt/format.h>

namespace netd::http {

void Metrics::observe(verb method, const std::string& route, status code, double seconds) {
    ++requests_[{std::string(to_string(method)), route, static_cast<unsigned>(code)}];
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (seconds <= bounds[i]) ++buckets_[i];
    }
    ++count_;
    sum_ += seconds;
}

std::string Metrics::render(const std::vector<Gauge>& gauges) const {
    std::string out;
    out += "# HELP netd_http_requests_total HTTP requests by method, route and status.\n";
    out += "# TYPE netd_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
        const auto& [method, route, code] = key;
        out += fmt::format("netd_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n", method,
                           route, code, count);
    }
    out += "# HELP netd_http_request_duration_seconds Time to handle a request.\n";
    out += "# TYPE netd_http_request_duration_seconds histogram\n";
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        out += fmt::format("netd_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", bounds[i], buckets_[i]);
    }
    out += fmt::format("netd_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", count_);
    out += fmt::format("netd_http_request_duration_seconds_sum {}\n", sum_);
    out += fmt::format("netd_http_request_duration_seconds_count {}\n", count_);
    out += "# HELP netd_http_connections_evicted_total Idle connections closed to make room for new ones.\n";
    out += "# TYPE netd_http_connections_evicted_total counter\n";
    out += fmt::format("netd_http_connections_evicted_total {}\n", evicted_);
    out += "# HELP netd_http_connections_refused_total New connections answered 503: every open one had a "
           "request in flight.\n";
    out += "# TYPE netd_http_connections_refused_total counter\n";
    out += fmt::format("netd_http_connections_refused_total {}\n", refused_connections_);
    for (const auto& gauge : gauges) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", gauge.name, gauge.help, gauge.name, gauge.type,
                           gauge.name, gauge.value);
    }
    return out;
}

} // namespace netd::http
