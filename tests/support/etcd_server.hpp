#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace netd::testing {

// A real etcd, with a data directory of its own kept across restarts of the
// process, serving clients on `address`:2379 (its log is <data_dir>.log).
class EtcdServer {
public:
    EtcdServer(std::string data_dir, std::string address) : data_dir_(std::move(data_dir)), address_(std::move(address)) {}
    ~EtcdServer() { stop(); }
    EtcdServer(const EtcdServer&) = delete;
    EtcdServer& operator=(const EtcdServer&) = delete;

    void start(); // waits until it serves (gtest ASSERT on failure)
    void stop();  // kill -9

    // A call to its v3 JSON gateway (keys and values in base64).
    nlohmann::json call(const std::string& path, const nlohmann::json& body) const;
    // Every key under `prefix` as key -> (value, lease), decoded.
    std::map<std::string, std::pair<std::string, std::string>> keys(const std::string& prefix) const;
    // Transactions etcd has handled since it started, from its /metrics.
    double transactions() const;
    // CPU seconds etcd has spent since it started, from its /metrics.
    double cpu_seconds() const;

private:
    std::string metrics() const;

    std::string data_dir_, address_;
    pid_t pid_ = -1;
};

} // namespace netd::testing
