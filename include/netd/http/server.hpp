#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "netd/http/router.hpp"

namespace netd::http {

struct ServerLimits {
    std::size_t header_bytes = 8 * 1024;
    std::size_t body_bytes = 64 * 1024;
    // A whole request must arrive within this, which closes slowloris
    // connections; an idle keep-alive connection is closed after it too.
    std::chrono::seconds request_timeout{10};
};

// An HTTP/1.1 server on one io_context: a listener that accepts connections
// and a session per connection that reads a request, dispatches it through
// the router and writes the response, keeping the connection alive.
class Server {
public:
    // Binds and listens at once, so that a port in use is reported before
    // the daemon says it is ready: netd::Error(unavailable) naming the address.
    Server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
           const Router& router, ServerLimits limits = {});
    ~Server();

    boost::asio::ip::tcp::endpoint local_endpoint() const;
    void start();
    void stop();

private:
    class Listener;
    std::shared_ptr<Listener> listener_;
};

// Parses "127.0.0.1:3030" or "[::1]:3030"; the host must be a literal address.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& text);

} // namespace netd::http
