#include "kernel_view.hpp"

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

namespace netd::testing {

nlohmann::json ip_json(const std::string& args) {
    std::string command = "ip -j " + args + " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return nlohmann::json::array();
    std::string out;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    pclose(pipe);
    if (out.find_first_not_of(" \n") == std::string::npos) return nlohmann::json::array();
    return nlohmann::json::parse(out);
}

void sh(const std::string& command) {
    int status = std::system(command.c_str());
    ASSERT_EQ(status, 0) << command;
}

std::optional<nlohmann::json> link(const std::string& name) {
    for (const auto& entry : ip_json("-d link show")) {
        if (entry.value("ifname", "") == name) return entry;
    }
    return std::nullopt;
}

namespace {

nlohmann::json addresses(const std::string& args) {
    auto out = nlohmann::json::array();
    for (const auto& entry : ip_json(args)) {
        // ip prints an empty object for each address its filter left out.
        for (const auto& address : entry.value("addr_info", nlohmann::json::array())) {
            if (address.contains("local")) out.push_back(address);
        }
    }
    return out;
}

} // namespace

nlohmann::json ipv4_addresses(const std::string& device) { return addresses("-4 addr show dev " + device); }

nlohmann::json ipv6_addresses(const std::string& device) {
    return addresses("-6 addr show scope global dev " + device);
}

} // namespace netd::testing
