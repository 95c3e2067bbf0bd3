#pragma once

#include <chrono>
#include <functional>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

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
    // Open connections at most. At the cap, the connection idle longest is
    // closed to make room for a new one; a new one is answered 503 and
    // closed only when every open one has a request in flight (see
    // ConnectionBudget).
    std::size_t max_connections = 256;
    // Of those, how many only the Unix socket and admins may use: other
    // callers hold at most max_connections - this. Default: a quarter.
    std::optional<std::size_t> reserved_connections{};

    std::size_t reserved() const { return reserved_connections.value_or(max_connections / 4); }
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
// That io_context runs on one thread, so sessions need no strand.
class Server {
public:
    // Throws netd::Error(invalid) for limits that leave no room (see
    // ConnectionBudget).
    Server(boost::asio::io_context& io, Api api, ServerLimits limits = {});
    ~Server();

    // Serves on an acceptor from listen() or listen_unix(); call before start().
    void serve(boost::asio::ip::tcp::acceptor acceptor);
    void serve(boost::asio::local::stream_protocol::acceptor acceptor);

    void start();
    // Stops accepting; open connections finish the request in flight, if
    // any, then close.
    void stop();
    // Across all endpoints, those being answered 503 too; the connection
    // budget counts the endpoints together.
    std::size_t open_connections() const;
    // A thread-safe call that has every busy request waiting to run again
    // run now (the work it waited on may be done), instead of at the end
    // of its pause. Valid while the io_context lives.
    std::function<void()> waker();

    // How long a request that finds the allocation lock held (a Response
    // marked busy) is tried again, on a timer, before its 503 is sent.
    static constexpr std::chrono::seconds busy_patience{2};

    // One acceptor and its sessions.
    class Endpoint {
    public:
        virtual ~Endpoint() = default;
        virtual void start() = 0;
        virtual void stop() = 0;
    };

    // What the endpoints and sessions share: the connection budget and the
    // bounds on their logging (server.cpp).
    struct Shared;

private:
    boost::asio::io_context& io_;
    Api api_;
    ServerLimits limits_;
    std::shared_ptr<Shared> shared_;
    std::vector<std::shared_ptr<Endpoint>> endpoints_;
};

// Binds and listens, so that a port in use is reported before the daemon
// says it is ready: netd::Error(unavailable) naming the address.
boost::asio::ip::tcp::acceptor listen(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint);

// Binds a Unix socket at `path` (replacing a stale socket there), mode 0660,
// owned by `group` when one is named.
boost::asio::local::stream_protocol::acceptor listen_unix(boost::asio::io_context& io, const std::string& path,
                                                          const std::string& group);

// Parses "127.0.0.1:3030" or "[::1]:3030"; the host must be a literal address.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& text);

} // namespace netd::http
