#pragma once

// First: Boost 1.74's asio/awaitable.hpp uses std::exchange without it.
#include <utility>

#include <functional>
#include <string>

#include <boost/asio.hpp>

// netd-tunnel's metrics for Prometheus (and `netctl tunnel metrics`): GET
// /metrics on a local TCP address ("127.0.0.1:9587") or a Unix socket
// ("unix:/run/netd-tunnel/corp0.metrics"), one request per connection.
namespace netd::tunnel {

// Starts serving `render()` at `where`; throws unavailable when it cannot
// bind there, invalid when `where` is neither form.
void serve_metrics(boost::asio::io_context& io, const std::string& where, std::function<std::string()> render);

} // namespace netd::tunnel
