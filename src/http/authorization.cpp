#include "netd/http/authorization.hpp"

#include <algorithm>

namespace netd::http {
namespace {

// What a change to `path` would change, for the message.
std::string_view what_changes(std::string_view path) {
    auto starts = [&](std::string_view prefix) {
        return path.substr(0, prefix.size()) == prefix &&
               (path.size() == prefix.size() || path[prefix.size()] == '/' || path[prefix.size()] == '?');
    };
    if (starts("/tun")) return "interfaces";
    if (starts("/subnet")) return "subnets";
    return "anything here";
}

} // namespace

std::string describe(const std::optional<Caller>& caller) {
    if (!caller) return "an unidentified caller";
    auto text = "uid " + std::to_string(caller->uid);
    if (caller->pid) text += " pid " + std::to_string(*caller->pid);
    return text;
}

bool is_admin(const Caller& caller, const AdminGroup& group) {
    if (caller.uid == 0) return true;
    return group.gid && std::find(caller.groups.begin(), caller.groups.end(), *group.gid) != caller.groups.end();
}

bool read_only(verb method) { return method == verb::get || method == verb::head; }

std::optional<std::string> refusal(const std::optional<Caller>& caller, bool bearer_token, verb method,
                                   std::string_view path, const AdminGroup& group) {
    if (read_only(method)) return std::nullopt;
    if (caller ? is_admin(*caller, group) : bearer_token) return std::nullopt;
    auto what = std::string(what_changes(path));
    if (!caller) {
        return "an unidentified caller (not on this host) may not change " + what +
               ": call from this host as root or a member of the group " + group.name +
               ", or start the daemon with --token-file and send its token";
    }
    return "uid " + std::to_string(caller->uid) + " may not change " + what + ": run as root, or join the group " +
           group.name;
}

bool self_service_route(verb method, std::string_view path, std::string_view collection) {
    if (collection.empty()) return false;
    if (method == verb::post) return path == collection;
    if (method != verb::delete_ || path.size() <= collection.size() + 1 ||
        path.substr(0, collection.size()) != collection || path[collection.size()] != '/') {
        return false;
    }
    // A TUN's name is one segment; a subnet's CIDR may come unencoded, as two
    // (10.1.0.0/24), never more, and never with an empty one.
    auto member = path.substr(collection.size() + 1);
    auto slashes = std::count(member.begin(), member.end(), '/');
    return slashes <= (collection == "/subnet" ? 1 : 0) && member.front() != '/' && member.back() != '/';
}

} // namespace netd::http
