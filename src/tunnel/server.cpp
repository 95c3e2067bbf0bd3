#include "netd/tunnel/server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/tunnel/raw_link.hpp"
#include "netd/tunnel_caller.hpp"

namespace netd::tunnel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace http_limits = netd::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// A connection has this long to finish TLS and send its upgrade request.
constexpr auto handshake_time = std::chrono::seconds(10);

http_limits::LogLimits failure_limits() {
    http_limits::LogLimits limits;
    limits.others = "other callers";
    return limits;
}

// The token, as tapotun sends it (x-api-key) or as a bearer.
std::string_view token_of(const http::request<http::empty_body>& request) {
    if (auto it = request.find("x-api-key"); it != request.end()) return {it->value().data(), it->value().size()};
    if (auto it = request.find(http::field::authorization); it != request.end()) {
        std::string_view value(it->value().data(), it->value().size());
        constexpr std::string_view bearer = "Bearer ";
        if (value.size() > bearer.size() && beast::iequals(beast::string_view(value.data(), bearer.size()), "Bearer ")) {
            return value.substr(bearer.size());
        }
    }
    return {};
}

// One connection until it is a client's link: TLS when configured, the
// upgrade request, the token, the WebSocket accept and the hello.
template <class Stream>
class Handshake : public std::enable_shared_from_this<Handshake<Stream>> {
public:
    Handshake(TunnelServer& server, Stream stream, std::string remote)
        : server_(server), stream_(std::move(stream)), remote_(std::move(remote)),
          deadline_(beast::get_lowest_layer(stream_).get_executor()) {
        server_.handshake_began(remote_);
    }
    ~Handshake() { server_.handshake_ended(remote_); }

    void start() {
        deadline_.expires_after(handshake_time);
        deadline_.async_wait([weak = this->weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) {
                boost::system::error_code ignored;
                beast::get_lowest_layer(self->stream_).close(ignored);
            }
        });
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            read();
        } else {
            stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self = this->shared_from_this()](const boost::system::error_code& ec) {
                                        if (ec) {
                                            self->server_.handshake_failed(self->remote_,
                                                                           "the TLS handshake failed: " + ec.message());
                                            return;
                                        }
                                        self->read();
                                    });
        }
    }

private:
    void read() {
        parser_.header_limit(8 * 1024);
        parser_.body_limit(0);
        http::async_read(stream_, buffer_, parser_,
                         [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                             self->on_request(ec);
                         });
    }

    void on_request(const boost::system::error_code& ec) {
        if (ec) return; // closed, timed out, or not HTTP: nobody to answer
        auto request = parser_.release();
        if (!server_.path_served({request.target().data(), request.target().size()})) {
            return answer(http::status::not_found, "not the tunnel's path");
        }
        if (!websocket::is_upgrade(request)) {
            return answer(http::status::upgrade_required, "this is netd-tunnel: connect with a WebSocket upgrade");
        }
        // Behind a trusted proxy, the address it names: the proxy's own
        // would throttle every client for one guesser.
        auto forwarded = request.find("x-forwarded-for");
        auto caller = server_.caller(remote_, forwarded == request.end()
                                                  ? std::string_view{}
                                                  : std::string_view(forwarded->value().data(), forwarded->value().size()));
        if (server_.throttled(caller)) {
            return answer(http::status::too_many_requests, "too many failed tokens: try again later");
        }
        auto client = server_.client_of(token_of(request));
        if (!client) {
            server_.refused(caller);
            return answer(http::status::unauthorized, "a token this server knows is required");
        }
        deadline_.cancel();
        auto ws = std::make_shared<websocket::stream<Stream>>(std::move(stream_));
        tune(*ws);
        ws->set_option(websocket::stream_base::decorator(
            [](websocket::response_type& response) { response.set(http::field::server, "netd-tunnel"); }));
        auto hello = std::make_shared<std::string>(server_.hello(*client));
        auto self = this->shared_from_this();
        ws->async_accept(request, [self, ws, hello, client = *client, caller](const boost::system::error_code& ec) {
            if (ec) return self->server_.handshake_failed(caller, "the WebSocket handshake failed: " + ec.message());
            ws->text(true);
            ws->async_write(asio::buffer(*hello), [self, ws, hello, client, caller](const boost::system::error_code& ec,
                                                                                    std::size_t) {
                if (ec) return spdlog::info("{}: could not send the hello: {}", caller, ec.message());
                try {
                    self->server_.attach(client, std::make_shared<RawLink>(take_over(*ws), RawLink::Role::server),
                                         caller);
                } catch (const std::exception& error) {
                    spdlog::info("{}: {}", caller, error.what());
                }
            });
        });
    }

    void answer(http::status status, const std::string& why) {
        auto response = std::make_shared<http::response<http::string_body>>(status, 11);
        response->set(http::field::server, "netd-tunnel");
        response->set(http::field::content_type, "text/plain");
        response->set(http::field::connection, "close");
        if (status == http::status::upgrade_required) response->set(http::field::upgrade, "websocket");
        if (status == http::status::too_many_requests) response->set(http::field::retry_after, "10");
        response->body() = why + "\n";
        response->prepare_payload();
        http::async_write(stream_, *response,
                          [self = this->shared_from_this(), response](const boost::system::error_code&, std::size_t) {
                              self->deadline_.cancel();
                              boost::system::error_code ignored;
                              beast::get_lowest_layer(self->stream_).close(ignored);
                          });
    }

    TunnelServer& server_;
    Stream stream_;
    std::string remote_;
    asio::steady_timer deadline_;
    beast::flat_buffer buffer_;
    http::request_parser<http::empty_body> parser_;
};

// The caller's address, as the log and the throttle name it: an IPv4
// caller of the dual-stack listener without its ::ffff: clothing.
std::string remote_of(const tcp::socket& socket) {
    boost::system::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    if (ec) return "?";
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    }
    return address.to_string();
}

} // namespace

TunnelServer::TunnelServer(asio::io_context& io, ServerConfig config, client::TunDescriptor tun,
                           std::shared_ptr<asio::ssl::context> tls)
    : io_(io), config_(std::move(config)), forwarding_(config_), tokens_(config_.clients), tls_(std::move(tls)),
      acceptor_(io),
      failures_(failure_limits(),
                [name = config_.name](const http_limits::LogLimiter::Summary& summary) {
                    spdlog::info("{}: ... and {} more failed handshakes from {} in the last {} s", name, summary.held,
                                 summary.key, std::chrono::ceil<std::chrono::seconds>(summary.over).count());
                }),
      tun_(io, std::move(tun.fd), tun.vnet_hdr,
                          [this](const std::uint8_t* record, std::size_t size) { from_tun(record, size); },
                          [this](const std::string& why) {
                              // The server's TUN is gone: stop, and let the
                              // service manager start it again, which has
                              // tun-daemon make the TUN anew.
                              spdlog::error("{}: {}; stopping", config_.name, why);
                              failed_ = true;
                              io_.stop();
                          },
                          [this] {
                              for (const auto& link : links_) {
                                  if (link) link->flush();
                              }
                          }),
      links_(config_.clients.size()), paused_by_(config_.clients.size(), false) {
    // By index, once: a map node stays where it is, and the packet path
    // then builds no label and searches no map.
    for (std::size_t i = 0; i < config_.clients.size(); ++i) peers_.push_back(&counters_.peers[label(i)]);
}

std::string TunnelServer::label(std::size_t client) const { return config_.clients.at(client).ip.to_string(); }

void TunnelServer::start() {
    auto address = config_.listen_host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                               : asio::ip::make_address(config_.listen_host);
    tcp::endpoint endpoint(address, config_.port);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec && address.is_v6() && config_.listen_host.empty()) acceptor_.set_option(asio::ip::v6_only(false), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        fail(ErrorCode::unavailable, "cannot listen on " + (config_.listen_host.empty() ? std::string("*") : config_.listen_host) +
                                         ":" + std::to_string(config_.port) + ": " + ec.message());
    }
    spdlog::info("{}: serving {} client(s) on {}:{}{}{}", config_.name, config_.clients.size(),
                 config_.listen_host.empty() ? "*" : config_.listen_host, config_.port, tls_ ? " with TLS" : "",
                 config_.path.empty() ? "" : ", path " + config_.path);
    tun_.start();
    accept();
}

void TunnelServer::accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        if (ec) {
            // Out of descriptors, most likely: accepting again at once
            // would spin on the same error.
            spdlog::warn("{}: accept failed: {}; trying again in 100 ms", config_.name, ec.message());
            pause_.expires_after(std::chrono::milliseconds(100));
            pause_.async_wait([this](const boost::system::error_code& ec) {
                if (!ec) accept();
            });
            return;
        }
        auto remote = remote_of(socket);
        auto from = handshakes_from_.find(remote);
        if (handshakes_ >= max_handshakes ||
            (from != handshakes_from_.end() && from->second >= max_handshakes_per_address)) {
            // Connections that have not shown a token yet are bounded, so
            // that a flood of them cannot take every descriptor from the
            // clients, nor one host every place; each has 10 s to show one.
            ++counters_.refused;
            accept();
            return;
        }
        {
            socket.set_option(tcp::no_delay(true));
            if (tls_) {
                std::make_shared<Handshake<beast::ssl_stream<tcp::socket>>>(
                    *this, beast::ssl_stream<tcp::socket>(std::move(socket), *tls_), remote)
                    ->start();
            } else {
                std::make_shared<Handshake<tcp::socket>>(*this, std::move(socket), remote)->start();
            }
        }
        accept();
    });
}

void TunnelServer::handshake_began(const std::string& caller) {
    ++handshakes_;
    ++handshakes_from_[caller];
}

void TunnelServer::handshake_ended(const std::string& caller) {
    --handshakes_;
    auto from = handshakes_from_.find(caller);
    if (from != handshakes_from_.end() && --from->second == 0) handshakes_from_.erase(from);
}

void TunnelServer::handshake_failed(const std::string& caller, const std::string& what) {
    if (failures_.admit(caller)) spdlog::info("{}: {}: {}", config_.name, caller, what);
    schedule_sweep();
}

// While failures are held back, their summaries are due once a second.
void TunnelServer::schedule_sweep() {
    if (sweeping_ || !failures_.holding()) return;
    sweeping_ = true;
    sweeper_.expires_after(std::chrono::seconds(1));
    sweeper_.async_wait([this](const boost::system::error_code& ec) {
        sweeping_ = false;
        if (ec) return;
        failures_.sweep();
        schedule_sweep();
    });
}

bool TunnelServer::path_served(std::string_view target) const {
    if (config_.path.empty()) return true;
    auto path = target.substr(0, target.find('?'));
    return path == config_.path;
}

std::string TunnelServer::caller(const std::string& peer, std::string_view forwarded_for) const {
    return caller_of(peer, forwarded_for, config_.trusted_proxies);
}

bool TunnelServer::throttled(const std::string& caller) {
    if (throttle_.allowed(caller, AuthThrottle::Clock::now())) return false;
    ++counters_.refused;
    return true;
}

void TunnelServer::refused(const std::string& caller) {
    throttle_.failed(caller, AuthThrottle::Clock::now());
    ++counters_.refused;
    // The token itself is never logged.
    spdlog::warn("{}: refused a connection from {}: a token no client has", config_.name, caller);
}

std::string TunnelServer::hello(std::size_t client) const { return to_json(hello_for(config_, client)); }

void TunnelServer::attach(std::size_t client, std::shared_ptr<Link> link, const std::string& remote) {
    // A client that connects again replaces its old link, which may not
    // have noticed yet that the client is gone.
    if (auto old = links_[client]) {
        spdlog::info("{}: client {} connected again from {}: closing its old connection", config_.name, label(client), remote);
        links_[client] = nullptr;
        old->close();
    }
    links_[client] = link;
    auto& peer = *peers_[client];
    peer.connected = true;
    ++peer.connects;
    spdlog::info("{}: client {} connected from {}", config_.name, label(client), remote);
    std::weak_ptr<Link> weak = link;
    auto is_current = [this, client, weak] { return !weak.expired() && links_[client] == weak.lock(); };
    link->start(LinkEvents{
        [this, client](const std::uint8_t* record, std::size_t size) { from_client(client, record, size); },
        [this, client, is_current] {
            if (is_current()) set_paused(client, false);
        },
        [this, client, is_current, remote](const std::string& why) {
            if (!is_current()) return;
            links_[client] = nullptr;
            set_paused(client, false);
            peers_[client]->connected = false;
            spdlog::info("{}: client {} ({}) disconnected: {}", config_.name, label(client), remote, why);
        }});
}

void TunnelServer::set_paused(std::size_t client, bool paused) {
    if (paused_by_[client] == paused) return;
    paused_by_[client] = paused;
    congested_ += paused ? 1 : -1;
    if (congested_ == 0) {
        tun_.resume();
    } else {
        tun_.pause();
    }
}

void TunnelServer::from_tun(const std::uint8_t* record, std::size_t size) {
    auto addresses = addresses_of(record + offload_header, size - offload_header);
    auto client = addresses ? forwarding_.client_for(*addresses) : std::nullopt;
    if (!client) {
        ++counters_.drops["no_route"];
        return;
    }
    auto& link = links_[*client];
    auto& peer = *peers_[*client];
    if (!link || !link->send(record, size)) {
        ++peer.drops["disconnected"];
        return;
    }
    peer.bytes_out += size - offload_header;
    ++peer.packets_out;
    if (link->congested()) set_paused(*client, true);
}

void TunnelServer::from_client(std::size_t client, const std::uint8_t* record, std::size_t size) {
    auto& peer = *peers_[client];
    auto addresses = addresses_of(record + offload_header, size - offload_header);
    if (!addresses) {
        ++peer.drops["malformed"];
        return;
    }
    // The tunnel carries IPv4; a client's kernel still says things over
    // IPv6 on its TUN (router solicitations, say), which are no spoofing.
    if (addresses->source.family() != net::Family::v4) {
        ++peer.drops["not_ipv4"];
        return;
    }
    if (!forwarding_.may_send(client, addresses->source)) {
        ++peer.drops["spoofed"];
        return;
    }
    if (!tun_.write(record, size)) {
        ++peer.drops["tun_write"];
        return;
    }
    peer.bytes_in += size - offload_header;
    ++peer.packets_in;
}

} // namespace netd::tunnel
