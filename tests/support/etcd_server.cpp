#include "etcd_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "netd/daemon/etcd_gateway.hpp"

namespace netd::testing {

constexpr unsigned short etcd_port = 2379;

void EtcdServer::start() {
    std::vector<std::string> args{"etcd",
                                  "--name", "netd-test",
                                  "--data-dir", data_dir_,
                                  "--listen-client-urls", "http://" + address_ + ":2379",
                                  "--advertise-client-urls", "http://" + address_ + ":2379",
                                  "--listen-peer-urls", "http://127.0.0.1:2380",
                                  "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                                  "--initial-cluster", "netd-test=http://127.0.0.1:2380"};
    pid_ = fork();
    if (pid_ == 0) {
        int log = ::open((data_dir_ + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        execvp("etcd", argv.data());
        _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    auto probe = address_ == "0.0.0.0" ? std::string("127.0.0.1") : address_;
    while (!port_open(probe, etcd_port) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(port_open(probe, etcd_port)) << "etcd did not start; see " << data_dir_ << ".log";
}

void EtcdServer::stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

nlohmann::json EtcdServer::call(const std::string& path, const nlohmann::json& body) const {
    HttpClient client(address_ == "0.0.0.0" ? "127.0.0.1" : address_, etcd_port);
    auto reply = client.post(path, body.dump());
    EXPECT_EQ(reply.status, 200) << path << ": " << reply.body;
    return reply.json();
}

std::map<std::string, std::pair<std::string, std::string>> EtcdServer::keys(const std::string& prefix) const {
    auto end = prefix;
    end.back() = static_cast<char>(end.back() + 1);
    auto answer = call("/v3/kv/range", {{"key", base64(prefix)}, {"range_end", base64(end)}});
    std::map<std::string, std::pair<std::string, std::string>> out;
    for (const auto& kv : answer.value("kvs", nlohmann::json::array())) {
        out[unbase64(kv.value("key", ""))] = {unbase64(kv.value("value", "")), kv.value("lease", "0")};
    }
    return out;
}

std::string EtcdServer::metrics() const {
    HttpClient client(address_ == "0.0.0.0" ? "127.0.0.1" : address_, etcd_port);
    return client.get("/metrics").body;
}

double EtcdServer::cpu_seconds() const {
    // Each thread's run time in ms (/proc/PID/task/TID/sched, kernels with
    // scheduler statistics): etcd's /metrics counts in 10 ms ticks, too
    // coarse for a burst that takes tens of milliseconds.
    double total_ms = 0;
    bool found = false;
    std::error_code ignored;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ignored)) {
        std::ifstream sched(task.path() / "sched");
        for (std::string line; std::getline(sched, line);) {
            if (line.rfind("se.sum_exec_runtime", 0) == 0) {
                total_ms += std::stod(line.substr(line.find(':') + 1));
                found = true;
            }
        }
    }
    if (found) return total_ms / 1000;
    std::istringstream metrics(this->metrics());
    for (std::string line; std::getline(metrics, line);) {
        if (line.rfind("process_cpu_seconds_total ", 0) == 0) return std::stod(line.substr(line.rfind(' ') + 1));
    }
    ADD_FAILURE() << "etcd's /metrics has no process_cpu_seconds_total";
    return 0;
}

double EtcdServer::transactions() const {
    std::istringstream metrics(this->metrics());
    double total = 0;
    for (std::string line; std::getline(metrics, line);) {
        // grpc_server_handled_total{grpc_code="OK",grpc_method="Txn",...} 12
        if (line.rfind("grpc_server_handled_total{", 0) == 0 && line.find("grpc_method=\"Txn\"") != std::string::npos) {
            total += std::stod(line.substr(line.rfind(' ') + 1));
        }
    }
    return total;
}

} // namespace netd::testing
