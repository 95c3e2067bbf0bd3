#pragma once

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

namespace netd::testing {

struct HttpReply {
    int status = 0;
    std::string body;
    std::string content_type;
    std::string allow;

    nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// A blocking HTTP/1.1 client on one keep-alive connection, for tests and
// benchmarks: what a real client does, without curl's process per request.
class HttpClient {
public:
    HttpClient(const std::string& host, unsigned short port);

    // Sends a request and reads the reply; `content_type` empty means none.
    HttpReply request(const std::string& method, const std::string& target, const std::string& body = "",
                      const std::string& content_type = "application/json");

    HttpReply get(const std::string& target) { return request("GET", target, "", ""); }
    HttpReply post(const std::string& target, const std::string& body) { return request("POST", target, body); }
    HttpReply del(const std::string& target) { return request("DELETE", target, "", ""); }

private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket socket_;
    std::string host_;
};

} // namespace netd::testing
