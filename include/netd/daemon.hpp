#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "netd/http/metrics.hpp"
#include "netd/http/server.hpp"
#include "netd/intents.hpp"
#include "netd/http/router.hpp"

// What both mains share: the common flags, the log files, the serve loop and
// the turning of a startup failure into one clear line and a non-zero exit.
namespace netd::daemon {

struct Options {
    std::string program;  // "tun-daemon"
    std::string log_name; // "tun_daemon": the stem of the .log and .err files
    std::string listen;   // "127.0.0.1:3030"
    std::string log_dir = "/var/log";
    std::string log_level = "info";
    std::string pool = "10.0.0.0/8";
    // Shared by every netd daemon on the host: allocation takes turns on it.
    std::string lock_file = "/run/netd/allocation.lock";
    std::vector<std::string> allow_hosts{}; // Host values served besides the defaults
    std::string token_file{};               // when set, requests need its token
    std::string state_dir{};                // default: /var/lib/<program>
    bool restore = true;                    // recreate what the kernel forgot at start
    http::ServerLimits limits{};
    std::string unix_socket{};       // also serve here, when set
    std::string unix_socket_group{}; // the group that may use it
};

// --listen, --log-dir, --log-level, --pool, --lock-file, --allow-host,
// --token-file, --state-dir, --restore/--no-restore and --version.
void add_common_options(CLI::App& app, Options& options);

// Opens <log-dir>/<log_name>.log (TRACE to INFO) and .err (WARN and worse),
// plus stderr when it is a terminal, as the default logger.
void setup_logging(const Options& options);

// The daemon's saved intents, from <state-dir>/intents.jsonl. A corrupt or
// future file is set aside and logged at ERROR; it never stops the start.
class SavedIntents {
public:
    explicit SavedIntents(const Options& options);
    Intents& intents() { return intents_; }

    // The host's IPv6 pool: `given` (--pool6) when not empty; otherwise a
    // unique local /48 drawn at random at the first start and kept in
    // <state-dir>/pool6 (RFC 4193 section 3.2), so that later starts and
    // restored interfaces use the same one.
    net::Cidr ipv6_pool(const std::string& given) const;

private:
    std::string state_dir_;
    std::unique_ptr<IntentStore> store_;
    std::string problem_; // what loading ran into; filled before intents_ is built
    Intents intents_;
};

// Logs what a restore did: INFO for each success, ERROR for each failure.
void log_restored(const std::vector<Restored>& outcomes);

// Sets up logging, then runs `body`. A netd::Error or a failure to open the
// logs ends the program with one line on stderr (and in the .err log where it
// is open) and exit code 1.
int run(const Options& options, const std::function<void()>& body);

// How the daemon reports on itself at /healthz and /metrics.
struct Status {
    std::function<void()> probe;                      // throws when the kernel is out of reach
    std::function<std::vector<http::Gauge>()> gauges; // the resource's own figures
};

// GET /healthz and GET /metrics.
void add_status_routes(http::Router& router, const http::Metrics& metrics, Status status);

// Adds the status routes to `router`, then serves it on
// options.listen until SIGINT or SIGTERM, telling the service manager
// (systemd's Type=notify) once it listens.
void serve(const Options& options, http::Router& router, Status status);

} // namespace netd::daemon
