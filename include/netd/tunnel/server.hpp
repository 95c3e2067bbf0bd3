#pragma once

// First: Boost 1.74's asio/awaitable.hpp uses std::exchange without it.
#include <utility>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "netd/client/tun_fd.hpp"
#include "netd/http/log_limiter.hpp"
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
    // The caller as the throttle and the log name it (tunnel_caller.hpp).
    std::string caller(const std::string& peer, std::string_view forwarded_for) const;
    void refused(const std::string& caller);
    bool throttled(const std::string& caller);
    std::optional<std::size_t> client_of(std::string_view token) const { return tokens_.client_of(token); }
    bool path_served(std::string_view target) const;
    std::string hello(std::size_t client) const;
    void attach(std::size_t client, std::shared_ptr<Link> link, const std::string& remote);
    void handshake_began(const std::string& caller);
    void handshake_ended(const std::string& caller);
    // A handshake that failed before any token was shown (TLS, the
    // WebSocket's own): logged, at most a few lines a period.
    void handshake_failed(const std::string& caller, const std::string& what);

    // Connections at once that have not shown a token yet: in all, and from
    // one address (so that one host cannot take them all; behind a proxy,
    // the proxy's, whose handshakes each take milliseconds).
    static constexpr std::size_t max_handshakes = 256;
    static constexpr std::size_t max_handshakes_per_address = 32;

private:
    void accept();
    void from_tun(const std::uint8_t* record, std::size_t size);
    void from_client(std::size_t client, const std::uint8_t* record, std::size_t size);
    std::string label(std::size_t client) const;
    void set_paused(std::size_t client, bool paused);
    void schedule_sweep();

    boost::asio::io_context& io_;
    ServerConfig config_;
    Forwarding forwarding_;
    TokenCheck tokens_;
    AuthThrottle throttle_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer pause_{acceptor_.get_executor()}; // after a failed accept
    std::size_t handshakes_ = 0;
    std::unordered_map<std::string, std::size_t> handshakes_from_; // by caller; none at 0
    // Failed handshakes, which anyone can cause by the thousand: a few
    // lines a window per caller, then a count (swept once a second).
    http::LogLimiter failures_;
    boost::asio::steady_timer sweeper_{acceptor_.get_executor()};
    bool sweeping_ = false;
    bool failed_ = false;
    TunPort tun_;
    std::vector<std::shared_ptr<Link>> links_; // by client; null while away
    std::vector<bool> paused_by_;              // by client: its link is congested
    std::size_t congested_ = 0;                // how many are
    Counters counters_;
    std::vector<PeerCounters*> peers_; // by client, into counters_
};

} // namespace netd::tunnel
