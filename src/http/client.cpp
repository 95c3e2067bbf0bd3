#include "netd/http/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace netd::http {
namespace {

namespace beast = boost::beast;
namespace beast_http = beast::http;
using boost::asio::ip::tcp;
using Local = boost::asio::local::stream_protocol;

template <typename Stream>
Reply exchange(Stream& stream, const std::string& host, const std::string& method, const std::string& target,
               const std::string& body, const std::string& token) {
    beast_http::request<beast_http::string_body> request{beast_http::string_to_verb(method), target, 11};
    request.set(beast_http::field::host, host);
    request.set(beast_http::field::user_agent, "netd");
    if (!token.empty()) request.set(beast_http::field::authorization, "Bearer " + token);
    if (method == "POST") {
        request.set(beast_http::field::content_type, "application/json");
        request.body() = body;
    }
    request.prepare_payload();
    beast_http::write(stream, request);
    beast::flat_buffer buffer;
    beast_http::response<beast_http::string_body> response;
    beast_http::read(stream, buffer, response);
    return {static_cast<int>(response.result_int()), response.body()};
}

} // namespace

Reply call(const Endpoint& endpoint, const std::string& method, const std::string& target, const std::string& body,
           const std::string& token, std::chrono::seconds timeout) {
    boost::asio::io_context io;
    try {
        if (!endpoint.unix_socket.empty()) {
            beast::basic_stream<Local> stream(io);
            stream.expires_after(timeout);
            stream.connect(Local::endpoint(endpoint.unix_socket));
            if (endpoint.check_server) endpoint.check_server(stream.socket().native_handle(), true);
            return exchange(stream, "localhost", method, target, body, token);
        }
        auto colon = endpoint.tcp.rfind(':');
        if (colon == std::string::npos) throw Unreachable("not HOST:PORT: " + endpoint.tcp);
        beast::tcp_stream stream(io);
        stream.expires_after(timeout);
        tcp::resolver resolver(io);
        stream.connect(resolver.resolve(endpoint.tcp.substr(0, colon), endpoint.tcp.substr(colon + 1)));
        if (endpoint.check_server) endpoint.check_server(stream.socket().native_handle(), false);
        return exchange(stream, endpoint.tcp, method, target, body, token);
    } catch (const beast::system_error& error) {
        throw Unreachable(error.code().message());
    }
}

} // namespace netd::http
