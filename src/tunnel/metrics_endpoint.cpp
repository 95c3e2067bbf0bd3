#include "netd/tunnel/metrics_endpoint.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "netd/error.hpp"

namespace netd::tunnel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Exchanges at once: a scrape takes milliseconds, and anyone on the host
// may connect to the socket, so that many connections left open must not
// take the descriptors the tunnel needs. Past it, a connection is closed
// unanswered.
constexpr std::size_t max_exchanges = 16;

template <class Protocol>
class MetricsServer : public std::enable_shared_from_this<MetricsServer<Protocol>> {
public:
    MetricsServer(asio::io_context& io, typename Protocol::endpoint endpoint, std::function<std::string()> render)
        : acceptor_(io), pause_(io), render_(std::move(render)) {
        acceptor_.open(endpoint.protocol());
        if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
            acceptor_.set_option(asio::socket_base::reuse_address(true));
        }
        acceptor_.bind(endpoint);
        acceptor_.listen();
    }

    void accept() {
        acceptor_.async_accept([self = this->shared_from_this()](const boost::system::error_code& ec,
                                                                 typename Protocol::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (ec) {
                // Out of descriptors, most likely: accepting again at once
                // would spin on the same error.
                spdlog::warn("metrics: accept failed: {}; trying again in 100 ms", ec.message());
                self->pause_.expires_after(std::chrono::milliseconds(100));
                self->pause_.async_wait([self](const boost::system::error_code& ec) {
                    if (!ec) self->accept();
                });
                return;
            }
            if (self->exchanges_ < max_exchanges) self->answer(std::make_shared<typename Protocol::socket>(std::move(socket)));
            self->accept();
        });
    }

private:
    // Counted from the connection's answer to its last handler.
    struct Exchange {
        explicit Exchange(std::shared_ptr<MetricsServer> server) : server(std::move(server)) { ++this->server->exchanges_; }
        ~Exchange() { --server->exchanges_; }
        std::shared_ptr<MetricsServer> server;
        beast::flat_buffer buffer;
        http::request_parser<http::empty_body> parser;
        http::response<http::string_body> response;
    };

    void answer(std::shared_ptr<typename Protocol::socket> socket) {
        auto exchange = std::make_shared<Exchange>(this->shared_from_this());
        exchange->parser.header_limit(8 * 1024);
        exchange->parser.body_limit(0);
        auto timer = std::make_shared<asio::steady_timer>(socket->get_executor(), std::chrono::seconds(5));
        timer->async_wait([socket](const boost::system::error_code& ec) {
            if (!ec) socket->close();
        });
        http::async_read(*socket, exchange->buffer, exchange->parser,
                         [self = this->shared_from_this(), socket, exchange, timer](const boost::system::error_code& ec,
                                                                                    std::size_t) {
                             if (ec) return;
                             const auto& request = exchange->parser.get();
                             auto& response = exchange->response;
                             response.version(11);
                             response.set(http::field::connection, "close");
                             if (request.method() != http::verb::get || request.target() != "/metrics") {
                                 response.result(http::status::not_found);
                                 response.set(http::field::content_type, "text/plain");
                                 response.body() = "GET /metrics is all there is\n";
                             } else {
                                 response.result(http::status::ok);
                                 response.set(http::field::content_type, "text/plain; version=0.0.4");
                                 response.body() = self->render_();
                             }
                             response.prepare_payload();
                             http::async_write(*socket, response,
                                               [socket, exchange, timer](const boost::system::error_code&, std::size_t) {
                                                   timer->cancel();
                                                   boost::system::error_code ignored;
                                                   socket->shutdown(Protocol::socket::shutdown_both, ignored);
                                                   socket->close(ignored);
                                               });
                         });
    }

    typename Protocol::acceptor acceptor_;
    asio::steady_timer pause_; // after a failed accept
    std::function<std::string()> render_;
    std::size_t exchanges_ = 0;
};

} // namespace

void serve_metrics(asio::io_context& io, const std::string& where, std::function<std::string()> render) {
    try {
        if (where.rfind("unix:", 0) == 0) {
            auto path = where.substr(5);
            if (path.empty()) fail(ErrorCode::invalid, "--metrics unix: needs a path");
            ::unlink(path.c_str()); // a stale socket of an earlier run
            auto server = std::make_shared<MetricsServer<asio::local::stream_protocol>>(
                io, asio::local::stream_protocol::endpoint(path), std::move(render));
            // Counters and peers' addresses, never a token: anyone on the
            // host may read them (netctl tunnel status), whatever the umask.
            ::chmod(path.c_str(), 0666);
            server->accept();
        } else {
            auto colon = where.rfind(':');
            if (colon == std::string::npos) fail(ErrorCode::invalid, "--metrics is HOST:PORT or unix:PATH");
            auto host = where.substr(0, colon);
            if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
            boost::system::error_code ec;
            auto address = asio::ip::make_address(host, ec);
            if (ec) fail(ErrorCode::invalid, "--metrics: \"" + host + "\" is not an address");
            int port = 0;
            try {
                port = std::stoi(where.substr(colon + 1));
            } catch (const std::exception&) {
            }
            if (port < 1 || port > 65535) fail(ErrorCode::invalid, "--metrics: the port must be from 1 to 65535");
            auto server = std::make_shared<MetricsServer<asio::ip::tcp>>(
                io, asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port)), std::move(render));
            server->accept();
        }
    } catch (const boost::system::system_error& error) {
        fail(ErrorCode::unavailable, "cannot serve metrics on " + where + ": " + error.code().message());
    }
    spdlog::info("metrics on {}", where);
}

} // namespace netd::tunnel
