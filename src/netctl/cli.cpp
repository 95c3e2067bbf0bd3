#include "cli.hpp"

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "netd/client/bearer_token.hpp"
#include "netd/client/daemon_check.hpp"
#include "ids.hpp"
#include "netd/http/client.hpp"
#include "netd/platform/platform.hpp"
#include "netd/tun/fd_access.hpp"
#include "tun_exec.hpp"
#include "tunnel_status.hpp"

namespace netd::netctl {
namespace {

using http::call;
using http::Endpoint;
using http::Reply;
using http::Unreachable;
using http::Untrusted;

struct Daemon {
    const char* name;
    Endpoint endpoint;
};

struct Settings {
    Daemon tun{"tun-daemon", {"127.0.0.1:3030", ""}};
    Daemon subnet{"subnet-daemon", {"127.0.0.1:3031", ""}};
    std::string token_file;
    bool json = false;
};

// An unreadable token file sends no token: the daemon's 401 says what is
// missing.
std::string token_of(const Settings& settings) { return client::bearer_token(settings.token_file).value_or(""); }

// The row of each object under `columns`, aligned; missing values are "-".
void print_table(const nlohmann::json& rows, const std::vector<std::string>& columns) {
    std::vector<std::vector<std::string>> cells{columns};
    for (const auto& row : rows) {
        std::vector<std::string> line;
        for (const auto& column : columns) {
            if (!row.contains(column)) {
                line.emplace_back("-");
            } else if (row[column].is_string()) {
                line.push_back(row[column].get<std::string>());
            } else if (row[column].is_array()) {
                std::string joined;
                for (const auto& item : row[column]) joined += (joined.empty() ? "" : ",") + item.get<std::string>();
                line.push_back(joined.empty() ? "-" : joined);
            } else if (row[column].is_object()) { // e.g. a TUN's mark: table=1000,value=100
                std::string joined;
                for (const auto& [key, item] : row[column].items()) {
                    joined += (joined.empty() ? "" : ",") + key + "=" + (item.is_string() ? item.get<std::string>() : item.dump());
                }
                line.push_back(joined.empty() ? "-" : joined);
            } else {
                line.push_back(row[column].dump());
            }
        }
        cells.push_back(std::move(line));
    }
    std::vector<std::size_t> widths(columns.size());
    for (const auto& line : cells) {
        for (std::size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
    }
    for (const auto& line : cells) {
        std::string text;
        for (std::size_t i = 0; i < line.size(); ++i) {
            text += line[i];
            if (i + 1 < line.size()) text += std::string(widths[i] - line[i].size() + 2, ' ');
        }
        std::cout << text << "\n";
    }
}

int exit_for(int status) {
    switch (status) {
    case 400: return invalid;
    case 404: return not_found;
    case 409: return conflict;
    default: return status >= 200 && status < 300 ? ok : failed;
    }
}

struct Outcome {
    int code = ok;
    nlohmann::json answer; // the daemon's JSON on success
};

// Sends one request; a failure is told on stderr, naming the daemon and
// where it was looked for.
Outcome send(const Settings& settings, const Daemon& daemon, const std::string& method, const std::string& target,
             const nlohmann::json& body = nullptr) {
    Reply reply;
    try {
        reply = call(daemon.endpoint, method, target, body.is_null() ? "" : body.dump(), token_of(settings));
    } catch (const Untrusted& error) {
        std::cerr << "netctl: refusing to talk to " << daemon.name << " at " << daemon.endpoint.describe() << ": "
                  << error.what() << "\n";
        return {failed, nullptr};
    } catch (const Unreachable& error) {
        std::cerr << "netctl: cannot reach " << daemon.name << " at " << daemon.endpoint.describe() << ": "
                  << error.what() << "\n";
        return {unreachable, nullptr};
    }
    auto answer = nlohmann::json::parse(reply.body, nullptr, false);
    auto code = exit_for(reply.status);
    if (code != ok) {
        auto message = answer.is_object() && answer.contains("error") ? answer["error"].value("message", reply.body)
                                                                       : reply.body;
        std::cerr << "netctl: " << daemon.name << " at " << daemon.endpoint.describe() << " answered "
                  << reply.status << ": " << message << "\n";
    }
    return {code, answer.is_discarded() ? nullptr : answer};
}

// Prints a successful answer: a table, or the JSON with --json.
int report(const Settings& settings, const Outcome& outcome, const std::vector<std::string>& columns) {
    if (outcome.code != ok || outcome.answer.is_null()) return outcome.code;
    if (settings.json) {
        std::cout << outcome.answer.dump(2) << "\n";
    } else {
        print_table(outcome.answer.is_array() ? outcome.answer : nlohmann::json::array({outcome.answer}), columns);
    }
    return ok;
}

int request(const Settings& settings, const Daemon& daemon, const std::string& method, const std::string& target,
            const nlohmann::json& body, const std::vector<std::string>& columns) {
    return report(settings, send(settings, daemon, method, target, body), columns);
}

// A CIDR in a path segment: its slash and IPv6 colons percent-encoded.
std::string path_segment(const std::string& cidr) {
    std::string encoded;
    for (char c : cidr) {
        if (c == '/') {
            encoded += "%2F";
        } else if (c == ':') {
            encoded += "%3A";
        } else {
            encoded += c;
        }
    }
    return encoded;
}

const std::vector<std::string> tun_columns{"name", "ip_addr", "netmask", "broadcast", "mtu", "ip6_addr", "routes", "mark"};
const std::vector<std::string> subnet_columns{"network", "interface", "address"};

} // namespace

int run(int argc, char** argv) {
    Settings settings;
    CLI::App app{"netctl: the command-line client of tun-daemon and subnet-daemon", "netctl"};
    app.require_subcommand(1);
    // The global flags work anywhere on the line (`netctl tun list --json`):
    // a subcommand passes what it does not know up to its parent, and the
    // subcommands inherit this.
    app.fallthrough();
    app.add_option("--tun", settings.tun.endpoint.tcp, "tun-daemon's HOST:PORT")->capture_default_str();
    app.add_option("--subnet", settings.subnet.endpoint.tcp, "subnet-daemon's HOST:PORT")->capture_default_str();
    app.add_option("--tun-socket", settings.tun.endpoint.unix_socket, "Reach tun-daemon on this Unix socket");
    app.add_option("--subnet-socket", settings.subnet.endpoint.unix_socket, "Reach subnet-daemon on this Unix socket");
    app.add_option("--token-file", settings.token_file, "File with the bearer token (else $NETD_TOKEN)");
    app.add_flag("--json", settings.json, "Print the daemon's JSON instead of a table");
    settings.tun.endpoint.check_server = settings.subnet.endpoint.check_server = client::check_daemon;

    int code = ok;
    auto* tun = app.add_subcommand("tun", "TUN interfaces (tun-daemon)")->require_subcommand(1);
    nlohmann::json create_body = nlohmann::json::object();
    std::optional<std::string> name, owner, group;
    std::optional<int> mtu, prefix_len;
    bool multi_queue = false, ipv6 = false;
    auto* create = tun->add_subcommand("create", "Create a TUN");
    create->add_option("--name", name, "Interface name (default: the next free tunN)");
    create->add_option("--mtu", mtu, "MTU (68 to 65535, default 1500)");
    create->add_option("--prefix-len", prefix_len, "Size of the block to allocate (default 24)");
    create->add_option("--owner", owner, "User who may attach without privileges");
    create->add_option("--group", group, "Group that may attach without privileges");
    create->add_flag("--multi-queue", multi_queue, "One descriptor per queue (IFF_MULTI_QUEUE)");
    create->add_flag("--ipv6", ipv6, "Also give it a /64 of tun-daemon's IPv6 pool");
    create->callback([&] {
        if (name) create_body["name"] = *name;
        if (mtu) create_body["mtu"] = *mtu;
        if (prefix_len) create_body["prefix_len"] = *prefix_len;
        if (owner) create_body["owner"] = *owner;
        if (group) create_body["group"] = *group;
        if (multi_queue) create_body["multi_queue"] = true;
        if (ipv6) create_body["ipv6"] = true;
        code = request(settings, settings.tun, "POST", "/tun", create_body, tun_columns);
    });
    tun->add_subcommand("list", "List the TUNs")->callback([&] {
        code = request(settings, settings.tun, "GET", "/tun", nullptr, tun_columns);
    });
    std::string tun_name;
    auto* show = tun->add_subcommand("show", "Show one TUN");
    show->add_option("NAME", tun_name)->required();
    show->callback([&] { code = request(settings, settings.tun, "GET", "/tun/" + tun_name, nullptr, tun_columns); });
    std::string fd_socket = default_fd_socket;
    std::vector<std::string> command;
    auto* exec = tun->add_subcommand("exec", "Run COMMAND with the TUN's descriptor as fd 3 (NETD_TUN_FD=3, "
                                             "NETD_TUN_NAME): netctl tun exec NAME -- COMMAND [ARGS...]");
    exec->add_option("NAME", tun_name)->required();
    exec->add_option("COMMAND", command, "The program and its arguments, after --")->required();
    exec->add_option("--fd-socket", fd_socket, "tun-daemon's fd socket")->capture_default_str();
    exec->callback([&] { code = tun_exec(fd_socket, tun_name, command); });
    auto* remove_tun = tun->add_subcommand("delete", "Delete a TUN");
    remove_tun->add_option("NAME", tun_name)->required();
    remove_tun->callback([&] { code = request(settings, settings.tun, "DELETE", "/tun/" + tun_name, nullptr, {}); });

    auto* subnet = app.add_subcommand("subnet", "Subnets (subnet-daemon)")->require_subcommand(1);
    std::string cidr;
    bool automatic = false;
    auto* add = subnet->add_subcommand("add", "Add a subnet: a CIDR, or --auto for the next free block");
    auto* cidr_option = add->add_option("CIDR", cidr, "e.g. 10.1.0.0/24 or fd12:3456:789a:1::/64");
    auto* auto_flag = add->add_flag("--auto", automatic, "Allocate the next free block");
    cidr_option->excludes(auto_flag);
    add->add_option("--prefix-len", prefix_len, "Size of the block --auto allocates (default 24)")->needs(auto_flag);
    add->callback([&] {
        if (cidr.empty() && !automatic) throw CLI::ValidationError("give a CIDR or --auto");
        nlohmann::json body = nlohmann::json::object();
        if (!cidr.empty()) body["cidr"] = cidr;
        if (prefix_len) body["prefix_len"] = *prefix_len;
        code = request(settings, settings.subnet, "POST", "/subnet", body, subnet_columns);
    });
    subnet->add_subcommand("list", "List the subnets")->callback([&] {
        code = request(settings, settings.subnet, "GET", "/subnet", nullptr, subnet_columns);
    });
    auto* remove_subnet = subnet->add_subcommand("delete", "Delete a subnet");
    remove_subnet->add_option("CIDR", cidr)->required();
    remove_subnet->callback([&] {
        code = request(settings, settings.subnet, "DELETE", "/subnet/" + path_segment(cidr), nullptr, {});
    });

    auto* tunnel = app.add_subcommand("tunnel", "netd-tunnel")->require_subcommand(1);
    std::string tunnel_name, metrics_at;
    auto* tunnel_status = tunnel->add_subcommand(
        "status", "Peers and traffic of netd-tunnel@NAME (or of the netd-tunnel serving --metrics)");
    tunnel_status->add_option("NAME", tunnel_name, "The instance: its metrics are at unix:/run/netd-tunnel/NAME.metrics");
    tunnel_status->add_option("--metrics", metrics_at, "netd-tunnel's --metrics: HOST:PORT or unix:PATH");
    tunnel_status->callback([&] {
        if (metrics_at.empty() && tunnel_name.empty()) throw CLI::ValidationError("give NAME or --metrics");
        if (metrics_at.empty()) metrics_at = tunnel_metrics_default(tunnel_name);
        // Read-only and without a token: no check of who serves it.
        Daemon source{"netd-tunnel", {}};
        if (metrics_at.rfind("unix:", 0) == 0) {
            source.endpoint.unix_socket = metrics_at.substr(5);
        } else {
            source.endpoint.tcp = metrics_at;
        }
        Reply reply;
        try {
            reply = call(source.endpoint, "GET", "/metrics", "", "");
        } catch (const std::exception& error) {
            std::cerr << "netctl: cannot reach netd-tunnel's metrics at " << metrics_at << ": " << error.what() << "\n";
            code = unreachable;
            return;
        }
        if (reply.status != 200) {
            std::cerr << "netctl: netd-tunnel at " << metrics_at << " answered " << reply.status << "\n";
            code = failed;
            return;
        }
        code = report(settings, {ok, tunnel_rows(reply.body)},
                      {"tunnel", "peer", "connected", "connects", "bytes_in", "bytes_out", "packets_in", "packets_out",
                       "drops", "refused"});
    });

    app.add_subcommand("status", "Health of both daemons")->callback([&] {
        auto rows = nlohmann::json::array();
        for (const auto* daemon : {&settings.tun, &settings.subnet}) {
            auto outcome = send(settings, *daemon, "GET", "/healthz");
            nlohmann::json row = outcome.answer.is_object() ? outcome.answer : nlohmann::json::object();
            row["daemon"] = daemon->name;
            row["address"] = daemon->endpoint.describe();
            if (outcome.code == unreachable) row["status"] = "unreachable";
            if (outcome.code != ok && code == ok) code = outcome.code;
            rows.push_back(row);
        }
        report(settings, {ok, rows}, {"daemon", "address", "status", "version", "uptime_s"});
    });

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        auto exit = app.exit(error);
        return exit == 0 ? ok : invalid;
    }
    return code;
}

} // namespace netd::netctl
