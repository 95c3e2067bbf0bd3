#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "netd/http/access_policy.hpp"
#include "netd/http/metrics.hpp"
#include "netd/http/router.hpp"

namespace netd::http {

struct ServerLimits {
    std::size_t header_bytes = 8 * 1024;
    std::size_t body_bytes = 64 * 1024;
    // Once its first byte is in, a request must arrive whole within this,
    // which closes slowloris connections.
    std::chrono::seconds request_timeout{10};
    // How long a keep-alive connection may wait for its next request.
    std::chrono::seconds idle_timeout{30};
    // Past this many open connections, a new one is answered 503 and closed.
    std::size_t max_connections = 256;
};

// What a server serves: the routes, who may use them, and where requests
// are counted. All three must outlive the server.
struct Api {
    const Router& router;
    const AccessPolicy& policy;
    Metrics& metrics;
};

// An HTTP/1.1 server on one io_context: a listener that accepts connections
// and a session per connection that reads a request, passes it through
// handle_request and writes the response, keeping the connection alive.
class Server {
public:
    // Serves `api` on an acceptor from listen().
    Server(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor acceptor, Api api, ServerLimits limits = {});
    ~Server();

    boost::asio::ip::tcp::endpoint local_endpoint() const;
    void start();
    // Stops accepting; open connections finish the request in flight, if
    // any, then close.
    void stop();
    std::size_t open_connections() const;

private:
    class Listener;
    std::shared_ptr<Listener> listener_;
};

// Binds and listens, so that a port in use is reported before the daemon
// says it is ready: netd::Error(unavailable) naming the address.
boost::asio::ip::tcp::acceptor listen(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint);

// Parses "127.0.0.1:3030" or "[::1]:3030"; the host must be a literal address.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& text);

} // namespace netd::http
