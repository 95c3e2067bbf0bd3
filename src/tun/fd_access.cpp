#include "netd/tun/fd_access.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "netd/http/log_text.hpp"
#include "netd/net/interface_name.hpp"

namespace netd {

std::string describe(const DescriptorClaimant& claimant) {
    auto text = "uid " + std::to_string(claimant.uid);
    if (claimant.pid) text += " pid " + std::to_string(*claimant.pid);
    return text;
}

std::optional<std::string> descriptor_refusal(const DescriptorClaimant& claimant, const TunInterface& tun) {
    if (claimant.uid == 0) return std::nullopt;
    if (tun.owner && *tun.owner == claimant.uid) return std::nullopt;
    if (tun.group && std::find(claimant.groups.begin(), claimant.groups.end(), *tun.group) != claimant.groups.end()) {
        return std::nullopt;
    }
    auto refused = "uid " + std::to_string(claimant.uid) + " may not have " + tun.name + "'s descriptor: ";
    // A TUN made without owner or group is root's (owner 0).
    bool others = (tun.owner && *tun.owner != 0) || tun.group;
    if (!others) return refused + "it belongs to root, so only root may";
    std::string who = "root";
    if (tun.owner && *tun.owner != 0) who += ", uid " + std::to_string(*tun.owner);
    if (tun.group) who += ", or a process in group " + std::to_string(*tun.group);
    return refused + "only " + who + " may";
}

DescriptorRequest parse_descriptor_request(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    DescriptorRequest request;
    constexpr std::string_view vnet_hdr = " vnet_hdr";
    if (line.size() > vnet_hdr.size() && line.substr(line.size() - vnet_hdr.size()) == vnet_hdr) {
        line.remove_suffix(vnet_hdr.size());
        request.vnet_hdr = true;
    }
    try {
        net::validate_interface_name(line);
    } catch (const Error& error) {
        // The kernel's rules name what is wrong; the name is quoted escaped.
        fail(ErrorCode::invalid, "a request is a TUN's name, optionally \" vnet_hdr\", and a newline: " +
                                     http::loggable(error.what()));
    }
    request.name = std::string(line);
    return request;
}

std::string descriptor_granted(const DescriptorRequest& request) {
    nlohmann::json answer{{"name", request.name}};
    if (request.vnet_hdr) answer["vnet_hdr"] = true;
    return answer.dump() + "\n";
}

std::string descriptor_refused(const Error& error) {
    std::string message = error.code() == ErrorCode::internal ? "internal error; see tun-daemon's log" : error.what();
    nlohmann::json answer{{"error", {{"code", std::string(to_string(error.code()))}, {"message", message}}}};
    // Replaced, never thrown: a message may quote bytes that are not UTF-8.
    return answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace netd
