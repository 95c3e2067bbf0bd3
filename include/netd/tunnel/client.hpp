#pragma once

// First: Boost 1.74's asio/awaitable.hpp uses std::exchange without it.
#include <utility>

#include <memory>
#include <optional>
#include <random>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>

#include "netd/tunnel/counters.hpp"
#include "netd/tunnel/link.hpp"
#include "netd/tunnel/tun_port.hpp"
#include "netd/tunnel/tun_setup.hpp"
#include "netd/tunnel_config.hpp"
#include "netd/tunnel_forwarding.hpp"

// netd-tunnel's client: connects to its server, takes the hello, has
// tun-daemon make the TUN it describes, and carries packets; after any
// failure it connects again, backing off, while the TUN stays (so that the
// host's routes and sockets ride out a short outage).
namespace netd::tunnel {

class TunnelClient {
public:
    // `tls` for an https:// server, set up to verify it (or not, with
    // `insecure`).
    TunnelClient(boost::asio::io_context& io, ClientConfig config, DaemonAccess daemon,
                 std::shared_ptr<boost::asio::ssl::context> tls);
    ~TunnelClient();

    void start();
    const Counters& counters() const { return counters_; }

private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> session();
    template <class WebSocket>
    boost::asio::awaitable<void> carry(WebSocket& ws, class Deadline& deadline);
    boost::asio::awaitable<void> have_tun(const Hello& hello);
    std::chrono::milliseconds backoff();

    boost::asio::io_context& io_;
    ClientConfig config_;
    DaemonAccess daemon_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    boost::asio::thread_pool worker_{1}; // tun-daemon's calls block: never on the I/O thread
    std::optional<TunPort> tun_;
    std::optional<Hello> current_;         // what tun_ was made for
    bool tun_broken_ = false;              // tun_ failed: make it again
    std::shared_ptr<Link> link_;
    PeerCounters* peer_ = nullptr; // in counters_
    Counters counters_;
    unsigned failures_ = 0; // in a row, for the backoff
    std::minstd_rand random_{std::random_device{}()};
};

} // namespace netd::tunnel
