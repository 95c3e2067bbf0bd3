#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "netd/coordinator.hpp"
#include "netd/daemon/etcd_coordinator.hpp"
#include "netd/daemon/sidecar.hpp"
#include "netd/http/metrics.hpp"
#include "netd/http/server.hpp"
#include "netd/intents.hpp"
#include "netd/platform/platform.hpp"
#include "netd/http/router.hpp"
#include "netd/self_service.hpp"

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
    std::string admin_group = "netd";       // its members may change things, as root may
    std::string user = "netd";              // who the daemon is once set up (see choose_user)
    std::vector<std::string> devices{};     // what it opens once it is that user (/dev/net/tun)
    // Where --self-service lets users who are not admins create and delete
    // their own ("/tun", "/subnet"): the daemon's collection.
    std::string self_service_collection{};
    SelfService self_service{}; // --self-service, --self-service-quota
    std::string state_dir{};                // default: /var/lib/<program>
    bool restore = true;                    // recreate what the kernel forgot at start
    http::ServerLimits limits{};
    std::string unix_socket{};       // also serve here, when set
    std::string unix_socket_group{}; // the group that may use it
    std::string coordinator{};       // "etcd=http://HOST:PORT,...": claims shared with other hosts
    std::string node_id{};           // default: /etc/machine-id
    int lease_ttl = 30;              // seconds a dead daemon's claims outlive it
};

// --listen, --log-dir, --log-level, --pool, --lock-file, --allow-host,
// --token-file, --admin-group, --state-dir, --restore/--no-restore, --coordinator,
// --node-id, --lease-ttl and --version.
void add_common_options(CLI::App& app, Options& options);

// --self-service and --self-service-quota, for a daemon whose users may then
// create `what` ("TUNs", "subnets") of their own in
// options.self_service_collection.
void add_self_service_options(CLI::App& app, Options& options, const std::string& what);

// Opens <log-dir>/<log_name>.log (TRACE to INFO) and .err (WARN and worse),
// plus stderr when it is a terminal, as the default logger.
void setup_logging(const Options& options);

// The daemon's saved intents, from <state-dir>/intents.jsonl. A corrupt or
// future file is set aside and logged at ERROR; neither that nor a state
// directory that cannot be written stops the start.
class SavedIntents {
public:
    explicit SavedIntents(const Options& options);
    Intents& intents() { return intents_; }

    // The host's IPv6 pool: `given` (--pool6) when not empty; otherwise a
    // unique local /48 drawn at random at the first start and kept in
    // <state-dir>/pool6 (RFC 4193 section 3.2), so that later starts and
    // restored interfaces use the same one. When that file is missing or
    // damaged while `adopted` (our TUNs in the kernel) exist, the pool is the
    // /48 their IPv6 addresses are in, logged at ERROR, and the file is
    // written again: the kernel answers for it, so it never stops the start.
    net::Cidr ipv6_pool(const std::string& given, const std::vector<TunInterface>& adopted) const;

    // Whether the kernel is the one the journal was last squared with
    // (<state-dir>/kernel holds platform::kernel_instance()): false after a
    // reboot, in a new network namespace, and when either is unknown.
    bool kernel_unchanged() const;
    // Records the running kernel as squared with the journal, once a
    // restore has made the kernel hold what the journal says.
    void mark_kernel_squared() const;

    // Why the journal cannot be written, for /healthz ("degraded") while it
    // lasts, and its failures since the start, for /metrics.
    std::vector<std::string> problems() const;
    std::vector<http::Gauge> gauges() const;

private:
    std::string state_dir_;
    std::unique_ptr<IntentStore> store_;
    std::string problem_; // what loading ran into; filled before intents_ is built
    Intents intents_;
};

// Why the token file, of `mode` and owned by `owner`, must not be trusted by
// a daemon running as `own_uid`, as sshd refuses a key others could read:
// empty when it may be.
std::string token_file_problem(const std::string& path, unsigned mode, unsigned owner, unsigned own_uid);

// The user a daemon started by root becomes once it has opened and bound
// all it needs, keeping CAP_NET_ADMIN alone.
inline constexpr const char* default_user = platform::daemon_user;

struct UserChoice {
    std::string become; // the user to become; empty: stay who it is
    std::string note;   // for the log
    bool warn = false;  // whether the note is a warning
};

// Whom a daemon running as `euid` becomes when --user is `asked`: no one
// when it was started as another user already (a unit's User=), lacks the
// capabilities to change, or the default user does not exist (then it
// stays root, warned; never nobody, whom other programs share). Root by
// name, or a named user that does not exist, is netd::Error(invalid); a
// name that is uid 0 is refused where it is looked up (become()).
UserChoice choose_user(const std::string& asked, std::uint32_t euid, bool can_switch, bool asked_exists);

// Calls `attempt` until it does not throw ErrorCode::busy, pausing between
// tries, for 10 s at most: for the start, where blocking is allowed.
std::vector<Restored> while_busy(const std::function<std::vector<Restored>()>& attempt);

// Logs what a restore did: INFO for each success, ERROR for each failure.
void log_restored(const std::vector<Restored>& outcomes);

// At start, for either service: finishes or undoes what a crash interrupted
// (reconcile), then, after a reboot, restores what the kernel forgot (unless
// --no-restore); after a mere restart the kernel is the truth, and what it
// lacks is forgotten instead.
// A restore takes the allocation lock, which never waits: at start, before
// anything is served, the daemon waits here instead while another holds it
// (10 s at most, then the start fails saying so).
template <typename Service>
void square_with_kernel(const Options& options, SavedIntents& saved, Service& service) {
    bool kernel_restarted = !saved.kernel_unchanged();
    log_restored(service.reconcile());
    if (options.restore || !kernel_restarted) {
        log_restored(while_busy([&] { return service.restore(kernel_restarted); }));
    }
    if (options.restore) saved.mark_kernel_squared();
}

// Sets up logging, then runs `body`. A netd::Error or a failure to open the
// logs ends the program with one line on stderr (and in the .err log where it
// is open) and exit code 1.
int run(const Options& options, const std::function<void()>& body);

// The coordinator --coordinator names: the local one (one host on its own)
// unless it is etcd.
class Coordination {
public:
    explicit Coordination(const Options& options);
    Coordinator& coordinator() { return etcd_ ? static_cast<Coordinator&>(*etcd_) : local_coordinator(); }

    // Where the serve loop learns what the daemon holds, for the claims to
    // agree with; maintain() hands it over at once and every third of the
    // lease. Neither waits for etcd.
    void track(std::function<HeldBlocks()> held);
    void maintain();
    std::chrono::milliseconds maintain_every() const;
    bool coordinated() const { return etcd_ != nullptr; }

    // Starts talking to etcd, once privileges are dropped, and waits (10 s
    // at most, or until etcd is found out of reach) for the held blocks to
    // be claimed under the new lease: a start may wait.
    void start();
    // Who to tell when a claim is decided (empty: nobody).
    void on_decided(std::function<void()> callback);

    // Reasons for /healthz to say "degraded"; none when all is well.
    std::vector<std::string> problems() const { return etcd_ ? etcd_->problems() : std::vector<std::string>{}; }
    // The claims' figures for /metrics; none without etcd.
    std::vector<http::Gauge> gauges() const { return etcd_ ? etcd_->gauges() : std::vector<http::Gauge>{}; }

private:
    std::unique_ptr<EtcdCoordinator> etcd_;
    std::function<HeldBlocks()> held_;
};

// How the daemon reports on itself at /healthz and /metrics.
struct Status {
    std::function<void()> probe;                      // throws when the kernel is out of reach
    std::function<std::vector<http::Gauge>()> gauges; // the resource's own figures
    std::function<std::vector<std::string>()> problems = [] { return std::vector<std::string>{}; };
};

// `status`, with the journal's problems and figures added to its own.
Status with_journal(Status status, const SavedIntents& saved);

// GET /healthz and GET /metrics. /healthz answers 503 "unavailable" when
// the probe fails, and 200 "degraded", with the problems, when there are any.
void add_status_routes(http::Router& router, const http::Metrics& metrics, Status status);

// GET /cluster/blocks: every claim of the pool, with its node, as this
// daemon last heard (a watch keeps it within milliseconds of etcd).
void add_cluster_routes(http::Router& router, Coordinator& coordinator);

// Adds the status routes to `router`, then serves it on
// options.listen until SIGINT or SIGTERM, telling the service manager
// (systemd's Type=notify) once it listens.
// `coordination`'s claims are maintained from the serve loop. `sidecar`,
// when given, makes what the daemon serves beside the API on the same
// io_context (tun-daemon's fd socket), before the API listens.
using OpenSidecar = std::function<std::unique_ptr<Sidecar>(boost::asio::io_context&)>;
void serve(const Options& options, http::Router& router, Status status, Coordination& coordination,
           const OpenSidecar& sidecar = {});

} // namespace netd::daemon
