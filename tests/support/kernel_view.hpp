#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

// What the kernel holds, read with `ip -j` (tests may run ip; the product may
// not), to check the daemons' answers against.
namespace netd::testing {

// `ip -j <args>` parsed; an empty array when ip prints nothing.
nlohmann::json ip_json(const std::string& args);

// Runs a shell command for its effect; fails the test if it exits non-zero.
void sh(const std::string& command);

// The link called `name`, or nullopt.
std::optional<nlohmann::json> link(const std::string& name);

// The IPv4 addresses of `device` as ip -j shows them (each with "local",
// "prefixlen", "broadcast", "label").
nlohmann::json ipv4_addresses(const std::string& device);

// The global IPv6 addresses of `device` (link-local ones left out), each
// with "local" and "prefixlen".
nlohmann::json ipv6_addresses(const std::string& device);

} // namespace netd::testing
