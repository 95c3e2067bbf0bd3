#pragma once

// First: Boost 1.74's asio/awaitable.hpp uses std::exchange without it.
#include <utility>

#include <memory>
#include <optional>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "netd/client/tun_fd.hpp"
#include "netd/tunnel/counters.hpp"
#include "netd/tunnel/link.hpp"
#include "netd/tunnel/token_check.hpp"
#include "netd/tunnel/tun_port.hpp"
#include "netd/tunnel_config.hpp"
#include "netd/tunnel_forwarding.hpp"
#include "netd/tunnel_throttle.hpp"

// netd-tunnel's server: clients connect with a WebSocket upgrade that
// carries their token, get their hello, and exchange packets; the server
// forwards between its TUN and them (tunnel_forwarding.hpp).
namespace netd::tunnel {

class TunnelServer {
public:
    // `tls` when it terminates TLS itself (`tls` in the config).
    TunnelServer(boost::asio::io_context& io, ServerConfig config, client::TunDescriptor tun,
                 std::shared_ptr<boost::asio::ssl::context> tls);

    // Binds and listens (throws unavailable, naming the address), then
    // reads the TUN and accepts clients.
    void start();

    const Counters& counters() const { return counters_; }
    // Its TUN failed for good: the program exits non-zero.
    bool failed() const { return failed_; }

    // What a connection's handshake asks of the server.
    void refused(const std::string& caller);
    bool throttled(const std::string& caller);
    std::optional<std::size_t> client_of(std::string_view token) const { return tokens_.client_of(token); }
    bool path_served(std::string_view target) const;
    std::string hello(std::size_t client) const;
    void attach(std::size_t client, std::shared_ptr<Link> link, const std::string& remote);
    void handshake_began() { ++handshakes_; }
    void handshake_ended() { --handshakes_; }

    // Connections at once that have not shown a token yet.
    static constexpr std::size_t max_handshakes = 256;

private:
    void accept();
    void from_tun(const std::uint8_t* record, std::size_t size);
    void from_client(std::size_t client, const std::uint8_t* record, std::size_t size);
    std::string label(std::size_t client) const;
    void set_paused(std::size_t client, bool paused);

    boost::asio::io_context& io_;
    ServerConfig config_;
    Forwarding forwarding_;
    TokenCheck tokens_;
    AuthThrottle throttle_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer pause_{acceptor_.get_executor()}; // after a failed accept
    std::size_t handshakes_ = 0;
    bool failed_ = false;
    TunPort tun_;
    std::vector<std::shared_ptr<Link>> links_; // by client; null while away
    std::vector<bool> paused_by_;              // by client: its link is congested
    std::size_t congested_ = 0;                // how many are
    Counters counters_;
    std::vector<PeerCounters*> peers_; // by client, into counters_
};

} // namespace netd::tunnel
