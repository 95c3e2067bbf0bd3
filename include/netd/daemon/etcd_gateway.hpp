#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace boost::asio {
class io_context;
}

namespace netd {

// etcd's v3 JSON gateway (no gRPC stack): unary calls, and the watch
// stream. Every call blocks its caller, so only the coordinator's own
// threads make them, never the I/O thread. Endpoints are tried in turn.
class EtcdGateway {
public:
    explicit EtcdGateway(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {}

    // POSTs `body` to `path` (/v3/kv/txn...) and returns the answer.
    // Throws unavailable when no endpoint answers 200 with JSON.
    nlohmann::json post(const std::string& path, const nlohmann::json& body) const;

    // Opens /v3/watch with `create_request` and hands each message to
    // `on_message` (which may throw to end the stream) until the stream
    // ends or interrupt() is called; then throws unavailable.
    void watch(const nlohmann::json& create_request, const std::function<void(const nlohmann::json&)>& on_message);
    // From another thread: the watch in progress, or the next one, ends.
    void interrupt();
    // Lets watches run again after interrupt().
    void resume() { interrupted_ = false; }

private:
    void watch_at(const std::string& endpoint, const std::string& request,
                  const std::function<void(const nlohmann::json&)>& on_message);

    std::vector<std::string> endpoints_;
    std::mutex watching_mutex_;
    boost::asio::io_context* watching_ = nullptr; // the watch's own, while one runs
    std::atomic<bool> interrupted_{false};
};

// etcd's gateway carries keys and values as base64 (JSON has no bytes).
std::string base64(const std::string& bytes);
std::string unbase64(const std::string& text);

} // namespace netd
