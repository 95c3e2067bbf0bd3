#include "netd/daemon/etcd_gateway.hpp"

#include <cstring>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "netd/error.hpp"
#include "netd/http/client.hpp"

namespace netd {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using boost::asio::ip::tcp;

constexpr char base64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// A unary call that takes longer is taken for etcd being away.
constexpr std::chrono::seconds call_timeout{2};

} // namespace

std::string base64(const std::string& bytes) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char byte : bytes) {
        buffer = buffer << 8 | byte;
        bits += 8;
        while (bits >= 6) out += base64_digits[(buffer >> (bits -= 6)) & 63];
    }
    if (bits > 0) out += base64_digits[(buffer << (6 - bits)) & 63];
    while (out.size() % 4 != 0) out += '=';
    return out;
}

std::string unbase64(const std::string& text) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        const char* digit = std::strchr(base64_digits, c);
        if (c == '=' || !digit || c == '\0') break;
        buffer = buffer << 6 | static_cast<std::uint32_t>(digit - base64_digits);
        bits += 6;
        if (bits >= 8) out += static_cast<char>((buffer >> (bits -= 8)) & 0xff);
    }
    return out;
}

nlohmann::json EtcdGateway::post(const std::string& path, const nlohmann::json& body) const {
    std::string failures;
    for (const auto& endpoint : endpoints_) {
        try {
            auto reply = http::call({endpoint, ""}, "POST", path, body.dump(), "", call_timeout);
            auto answer = nlohmann::json::parse(reply.body, nullptr, false);
            if (reply.status != 200 || answer.is_discarded()) {
                auto message = answer.is_object() ? answer.value("message", reply.body) : reply.body;
                fail(ErrorCode::unavailable, "etcd at " + endpoint + " answered " + std::to_string(reply.status) +
                                                 " to " + path + ": " + message);
            }
            return answer;
        } catch (const http::Unreachable& error) {
            failures += (failures.empty() ? "" : "; ") + endpoint + ": " + error.what();
        }
    }
    fail(ErrorCode::unavailable, "etcd is out of reach (" + failures + "); no block is allocated without its claim");
}

void EtcdGateway::interrupt() {
    interrupted_ = true;
    std::lock_guard lock(watching_mutex_);
    if (watching_) watching_->stop();
}

void EtcdGateway::watch(const nlohmann::json& create_request,
                        const std::function<void(const nlohmann::json&)>& on_message) {
    auto request = nlohmann::json{{"create_request", create_request}}.dump();
    std::string failures;
    for (const auto& endpoint : endpoints_) {
        try {
            watch_at(endpoint, request, on_message);
        } catch (const beast::system_error& error) {
            failures += (failures.empty() ? "" : "; ") + endpoint + ": " + error.code().message();
        }
        if (interrupted_) break;
    }
    fail(ErrorCode::unavailable, "the etcd watch ended (" + failures + ")");
}

// The stream's steps, each an asynchronous operation on an io_context of
// its own that this thread runs until it completes, times out, or
// interrupt() stops it: a blocking socket could not be interrupted.
void EtcdGateway::watch_at(const std::string& endpoint, const std::string& request,
                           const std::function<void(const nlohmann::json&)>& on_message) {
    boost::asio::io_context io;
    {
        std::lock_guard lock(watching_mutex_);
        watching_ = &io;
    }
    struct Unregister {
        EtcdGateway& gateway;
        ~Unregister() {
            std::lock_guard lock(gateway.watching_mutex_);
            gateway.watching_ = nullptr;
        }
    } unregister{*this};

    beast::tcp_stream stream(io);
    beast::error_code result;
    bool done = false;
    auto complete = [&](beast::error_code ec, auto&&...) {
        result = ec;
        done = true;
    };
    auto await = [&](std::optional<std::chrono::seconds> limit) {
        io.restart();
        if (interrupted_) throw beast::system_error(boost::asio::error::operation_aborted);
        if (limit) {
            io.run_for(*limit);
        } else {
            io.run();
        }
        if (!done) {
            beast::error_code ignored;
            stream.socket().close(ignored);
            io.restart();
            io.run(); // the cancelled handler
            throw beast::system_error(interrupted_ ? boost::asio::error::operation_aborted
                                                   : boost::asio::error::timed_out);
        }
        done = false;
        if (result) throw beast::system_error(result);
    };

    auto colon = endpoint.rfind(':');
    tcp::resolver resolver(io);
    auto addresses = resolver.resolve(endpoint.substr(0, colon), endpoint.substr(colon + 1));
    stream.async_connect(addresses, complete);
    await(call_timeout);

    bhttp::request<bhttp::string_body> message{bhttp::verb::post, "/v3/watch", 11};
    message.set(bhttp::field::host, endpoint);
    message.set(bhttp::field::content_type, "application/json");
    message.body() = request;
    message.prepare_payload();
    bhttp::async_write(stream, message, complete);
    await(call_timeout);

    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    bhttp::async_read_header(stream, buffer, parser, complete);
    await(call_timeout);
    if (parser.get().result() != bhttp::status::ok) {
        throw beast::system_error(boost::asio::error::connection_refused);
    }
    // The gateway writes one JSON message per line.
    std::string pending;
    while (!parser.is_done()) {
        bhttp::async_read_some(stream, buffer, parser, complete);
        await(std::nullopt);
        pending += parser.get().body();
        parser.get().body().clear();
        for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
            auto line = pending.substr(0, end);
            pending.erase(0, end + 1);
            auto parsed = nlohmann::json::parse(line, nullptr, false);
            if (!parsed.is_discarded()) on_message(parsed);
        }
    }
    throw beast::system_error(boost::asio::error::eof);
}

} // namespace netd
