#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace netd::testing {
namespace bhttp = boost::beast::http;

HttpClient::HttpClient(const std::string& host, unsigned short port)
    : socket_(io_), host_(host + ":" + std::to_string(port)) {
    socket_.connect({boost::asio::ip::make_address(host), port});
    socket_.set_option(boost::asio::ip::tcp::no_delay(true));
}

HttpReply HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                              const std::string& content_type) {
    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
    request.set(bhttp::field::host, host_);
    if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
    request.body() = body;
    request.keep_alive(true);
    request.prepare_payload();
    bhttp::write(socket_, request);

    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(socket_, buffer, response);
    return {static_cast<int>(response.result_int()), response.body(),
            std::string(response[bhttp::field::content_type]), std::string(response[bhttp::field::allow])};
}

} // namespace netd::testing
