#include "netd/tunnel/client.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/tunnel/raw_link.hpp"

namespace netd::tunnel {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

// The whole way from nothing to the hello may take this long.
constexpr auto connect_time = std::chrono::seconds(10);
// The backoff after a failure: doubling from the first to the cap, each
// wait drawn between half and all of it, so that many clients of a
// restarted server do not all come back at the same instant.
constexpr auto first_backoff = std::chrono::milliseconds(250);
constexpr auto backoff_cap = std::chrono::milliseconds(8000);

// Closes the connection's socket when the time is up, which ends whatever
// waits on it; `close` follows the socket as it moves into its streams.
class Deadline {
public:
    Deadline(const asio::any_io_executor& executor, std::chrono::seconds within, std::function<void()> close)
        : timer_(executor), close_(std::move(close)) {
        timer_.expires_after(within);
        // The handler runs after the destructor's cancel with an error, and
        // touches nothing then.
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec && close_) close_();
        });
    }
    ~Deadline() { timer_.cancel(); }
    void follow(std::function<void()> close) { close_ = std::move(close); }
    void cancel() { timer_.cancel(); }

private:
    asio::steady_timer timer_;
    std::function<void()> close_;
};

template <class Socket>
std::function<void()> closer(Socket& socket) {
    return [&socket] {
        boost::system::error_code ignored;
        socket.close(ignored);
    };
}

namespace {

bool is_address(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// Runs `work` on `pool` and resumes the coroutine on its own executor with
// the result, or the exception it threw. Coroutines here take what is not
// trivial by reference to the caller's named objects, which outlive the
// co_await: GCC 12 destroys some temporaries of a co_await expression twice.
template <typename Result>
asio::awaitable<Result> off_thread(asio::thread_pool& pool, const std::function<Result()>& work) {
    auto executor = co_await asio::this_coro::executor;
    auto outcome = std::make_shared<std::pair<std::exception_ptr, std::optional<Result>>>();
    asio::steady_timer done(executor, asio::steady_timer::time_point::max());
    asio::post(pool, [&done, outcome, &work, executor]() mutable {
        try {
            outcome->second.emplace(work());
        } catch (...) {
            outcome->first = std::current_exception();
        }
        asio::post(executor, [&done] { done.cancel(); });
    });
    boost::system::error_code ec;
    co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
    if (outcome->first) std::rethrow_exception(outcome->first);
    co_return std::move(*outcome->second);
}

} // namespace

TunnelClient::TunnelClient(asio::io_context& io, ClientConfig config, DaemonAccess daemon,
                           std::shared_ptr<asio::ssl::context> tls)
    : io_(io), config_(std::move(config)), daemon_(std::move(daemon)), tls_(std::move(tls)) {
    peer_ = &counters_.peers[config_.server.authority()];
}

TunnelClient::~TunnelClient() { worker_.join(); }

void TunnelClient::start() {
    asio::co_spawn(io_, run(), [name = config_.name](std::exception_ptr error) {
        try {
            if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
            spdlog::error("{}: the client stopped: {}", name, e.what());
        }
    });
}

std::chrono::milliseconds TunnelClient::backoff() {
    auto full = first_backoff * (1u << std::min(failures_, 6u));
    if (full > backoff_cap) full = backoff_cap;
    std::uniform_int_distribution<long> draw(full.count() / 2, full.count());
    return std::chrono::milliseconds(draw(random_));
}

asio::awaitable<void> TunnelClient::run() {
    asio::steady_timer wait(io_);
    for (;;) {
        std::string why;
        try {
            co_await session();
            why = "the connection ended";
        } catch (const std::exception& error) {
            why = error.what();
        }
        link_.reset();
        peer_->connected = false;
        auto delay = backoff();
        ++failures_;
        spdlog::warn("{}: {}: {}; connecting again in {} ms", config_.name, config_.server.authority(), why,
                     delay.count());
        wait.expires_after(delay);
        boost::system::error_code ignored;
        co_await wait.async_wait(asio::redirect_error(use_awaitable, ignored));
    }
}

asio::awaitable<void> TunnelClient::session() {
    auto executor = co_await asio::this_coro::executor;
    const auto& url = config_.server;
    tcp::resolver resolver(executor);
    const auto port = std::to_string(url.port);
    auto endpoints = co_await resolver.async_resolve(url.host, port, use_awaitable);
    tcp::socket socket(executor);
    Deadline deadline(executor, connect_time, closer(socket));
    co_await asio::async_connect(socket, endpoints, use_awaitable);
    socket.set_option(tcp::no_delay(true));
    if (!url.tls) {
        websocket::stream<tcp::socket> ws(std::move(socket));
        deadline.follow(closer(beast::get_lowest_layer(ws)));
        co_await carry(ws, deadline);
        co_return;
    }
    websocket::stream<beast::ssl_stream<tcp::socket>> ws(std::move(socket), *tls_);
    deadline.follow(closer(beast::get_lowest_layer(ws)));
    auto* ssl = ws.next_layer().native_handle();
    if (!is_address(url.host)) SSL_set_tlsext_host_name(ssl, url.host.c_str());
    if (!config_.insecure) ws.next_layer().set_verify_callback(asio::ssl::host_name_verification(url.host));
    co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client, use_awaitable);
    co_await carry(ws, deadline);
}

template <class WebSocket>
asio::awaitable<void> TunnelClient::carry(WebSocket& ws, Deadline& deadline) {
    const auto& url = config_.server;
    deadline.follow(closer(beast::get_lowest_layer(ws)));
    tune(ws);
    ws.set_option(websocket::stream_base::decorator([token = config_.token](websocket::request_type& request) {
        request.set(http::field::user_agent, "netd-tunnel");
        request.set("x-api-key", token); // tapotun's header
    }));
    websocket::response_type response;
    try {
        const auto host = url.authority();
        co_await ws.async_handshake(response, host, url.target, use_awaitable);
    } catch (const boost::system::system_error& error) {
        // Only a response that came and declined has a status worth
        // naming: with none at all (the server closed, say), the response
        // keeps its default, 200.
        if (error.code() == http::error::end_of_stream) {
            fail(ErrorCode::unavailable, "the server closed the connection before it answered");
        }
        if (error.code() != websocket::error::upgrade_declined) throw;
        auto status = response.result_int();
        if (status == 401) fail(ErrorCode::unauthorized, "the server refused the token (401)");
        fail(ErrorCode::unavailable, "the server answered " + std::to_string(status) + " " +
                                         std::string(response.reason()) + " instead of a WebSocket");
    }
    beast::flat_buffer buffer;
    co_await ws.async_read(buffer, use_awaitable);
    if (!ws.got_text()) fail(ErrorCode::invalid, "the server sent no hello");
    auto hello = parse_hello(beast::buffers_to_string(buffer.data()));
    deadline.cancel();
    co_await have_tun(hello);
    failures_ = 0;
    spdlog::info("{}: connected to {} as {}", config_.name, url.authority(), hello.address.to_string());
    peer_->connected = true;
    ++peer_->connects;

    auto link = std::make_shared<RawLink>(take_over(ws), RawLink::Role::client);
    link_ = link;
    asio::steady_timer closed(io_, asio::steady_timer::time_point::max());
    std::string why;
    link->start(LinkEvents{[this](const std::uint8_t* record, std::size_t size) {
                               if (!tun_->write(record, size)) {
                                   ++peer_->drops["tun_write"];
                                   return;
                               }
                               peer_->bytes_in += size - offload_header;
                               ++peer_->packets_in;
                           },
                           [this] { tun_->resume(); },
                           [&closed, &why](const std::string& reason) {
                               why = reason;
                               closed.cancel();
                           }});
    boost::system::error_code ignored;
    co_await closed.async_wait(asio::redirect_error(use_awaitable, ignored));
    link_.reset();
    tun_->resume();
    fail(ErrorCode::unavailable, "the connection ended: " + why);
}

asio::awaitable<void> TunnelClient::have_tun(const Hello& hello) {
    if (tun_ && current_ == hello && !tun_broken_) co_return;
    if (tun_) spdlog::info("{}: the server's hello changed: setting the TUN up anew", config_.name);
    tun_.reset();
    current_.reset();
    tun_broken_ = false;
    TunWanted wanted;
    wanted.name = config_.name;
    wanted.address = hello.address;
    wanted.mtu = hello.mtu;
    wanted.routes = hello.routes;
    wanted.mark = config_.mark;
    wanted.owner = ::geteuid();
    std::function<client::TunDescriptor()> work = [this, &wanted] { return set_up_tun(daemon_, wanted); };
    auto tun = co_await off_thread(worker_, work);
    tun_.emplace(io_, std::move(tun.fd), tun.vnet_hdr, [this](const std::uint8_t* record, std::size_t size) {
        // IPv4 only crosses (the server drops the rest): what this host's
        // kernel says over IPv6 on the TUN stays here, counted.
        if (size > offload_header && (record[offload_header] >> 4) != 4) {
            ++peer_->drops["not_ipv4"];
            return;
        }
        if (!link_ || !link_->send(record, size)) {
            ++peer_->drops["disconnected"];
            return;
        }
        peer_->bytes_out += size - offload_header;
        ++peer_->packets_out;
        if (link_->congested()) tun_->pause();
    }, [this](const std::string& why) {
        // Set up anew at the next connection: the link ends now for that.
        spdlog::error("{}: {}; setting the TUN up again", config_.name, why);
        tun_broken_ = true;
        if (link_) link_->close();
    }, [this] {
        if (link_) link_->flush();
    });
    tun_->start();
    current_ = hello;
}

} // namespace netd::tunnel
