#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iostream>
#include <random>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "netd/daemon/daemon.hpp"
#include "netd/error.hpp"
#include "netd/http/server.hpp"
#include "netd/platform/platform.hpp"
#include "netd/tun_service.hpp"
#include "state_file.hpp"
#include "unique_fd.hpp"

namespace netd::daemon {

void add_common_options(CLI::App& app, Options& options) {
    app.add_option("--listen", options.listen, "Address and port to serve the API on")
        ->capture_default_str();
    app.add_option("--log-dir", options.log_dir, "Directory of the .log and .err files")->capture_default_str();
    app.add_option("--log-level", options.log_level, "Lowest level to log")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.add_option("--pool", options.pool, "IPv4 range to allocate blocks from")->capture_default_str();
    options.state_dir = "/var/lib/" + options.program;
    app.add_option("--state-dir", options.state_dir, "Where what was asked for is saved, to restore after a reboot")
        ->capture_default_str();
    app.add_flag("--restore,!--no-restore", options.restore,
                 "At start, recreate saved interfaces the kernel no longer has (default on)");
    app.add_option("--lock-file", options.lock_file, "Lock file shared by the netd daemons of this host")
        ->capture_default_str();
    app.add_option("--request-timeout", options.limits.request_timeout,
                   "Seconds a request may take to arrive once it has begun")
        ->capture_default_str();
    app.add_option("--idle-timeout", options.limits.idle_timeout,
                   "Seconds a keep-alive connection may wait for its next request")
        ->capture_default_str();
    app.add_option("--max-connections", options.limits.max_connections,
                   "Open connections at most; past them, the one idle longest is closed to make room")
        ->capture_default_str();
    app.add_option("--reserved-connections", options.limits.reserved_connections,
                   "Connections only the Unix socket and admins may use (default: a quarter of --max-connections)");
    app.add_option("--unix-socket", options.unix_socket, "Also serve the API on this Unix socket (mode 0660)");
    app.add_option("--unix-socket-group", options.unix_socket_group, "Group that may use the Unix socket");
    app.add_option("--coordinator", options.coordinator,
                   "Claim blocks in etcd, shared with other hosts: etcd=http://HOST:2379[,http://HOST2:2379]");
    app.add_option("--node-id", options.node_id, "This host's name in the claims (default: /etc/machine-id)");
    app.add_option("--lease-ttl", options.lease_ttl, "Seconds a dead daemon's claims outlive it")
        ->check(CLI::Range(2, 3600))
        ->capture_default_str();
    app.add_option("--allow-host", options.allow_hosts,
                   "Also accept requests with this Host header (HOST:PORT); repeatable");
    app.add_option("--token-file", options.token_file,
                   "Require 'Authorization: Bearer <token>' with the token in this file")
        ->check(CLI::ExistingFile);
    app.add_option("--admin-group", options.admin_group,
                   "Members of this group may change interfaces, as root may; others may only read")
        ->capture_default_str();
    app.add_option("--user", options.user,
                   "User to become once set up, keeping CAP_NET_ADMIN alone (where it is missing, root stays root)")
        ->capture_default_str();
    app.set_version_flag("--version", std::string(NETD_VERSION));
}

void add_self_service_options(CLI::App& app, Options& options, const std::string& what) {
    app.add_flag("--self-service", options.self_service.enabled,
                 "Let users who are not admins create " + what + " of their own, in the pool, and delete their own");
    app.add_option("--self-service-quota", options.self_service.quota,
                   "How many " + what + " one user may hold through --self-service")
        ->check(CLI::Range(0, 4096))
        ->capture_default_str();
}

namespace {

bool stderr_is(const std::string& path) {
    struct stat of_stderr {}, of_path {};
    return fstat(STDERR_FILENO, &of_stderr) == 0 && stat(path.c_str(), &of_path) == 0 &&
           of_stderr.st_dev == of_path.st_dev && of_stderr.st_ino == of_path.st_ino;
}

} // namespace

SavedIntents::SavedIntents(const Options& options)
    : state_dir_(options.state_dir),
      store_(std::make_unique<platform::StateFile>(options.state_dir, "intents.jsonl", "state.json")),
      intents_(*store_, problem_) {
    if (!problem_.empty()) spdlog::error("{}", problem_);
    if (auto trouble = intents_.write_problem()) {
        spdlog::error("cannot rewrite the journal: {}; serving, but changes answer 503 until it can be written",
                      *trouble);
    }
}

bool SavedIntents::kernel_unchanged() const {
    auto running = platform::kernel_instance();
    std::string squared;
    std::getline(std::ifstream(state_dir_ + "/kernel"), squared);
    return !running.empty() && squared == running;
}

void SavedIntents::mark_kernel_squared() const {
    try {
        platform::write_durably(state_dir_, state_dir_ + "/kernel", platform::kernel_instance() + "\n");
    } catch (const std::exception& error) {
        spdlog::error("{}; the next start restores again what the kernel lacks", error.what());
    }
}

std::vector<std::string> SavedIntents::problems() const {
    if (auto trouble = intents_.write_problem()) return {"the journal cannot be written: " + *trouble};
    return {};
}

std::vector<http::Gauge> SavedIntents::gauges() const {
    return {{"netd_journal_write_failures_total", "Changes the journal could not record (each answered 503).",
             static_cast<double>(intents_.write_failures()), "counter"}};
}

Status with_journal(Status status, const SavedIntents& saved) {
    status.gauges = [gauges = std::move(status.gauges), &saved] {
        auto all = gauges();
        for (auto& gauge : saved.gauges()) all.push_back(std::move(gauge));
        return all;
    };
    status.problems = [problems = std::move(status.problems), &saved] {
        auto all = problems();
        for (auto& problem : saved.problems()) all.push_back(std::move(problem));
        return all;
    };
    return status;
}

net::Cidr SavedIntents::ipv6_pool(const std::string& given, const std::vector<TunInterface>& adopted) const {
    if (!given.empty()) return net::Cidr::parse(given);
    auto path = state_dir_ + "/pool6";
    std::string trouble; // why the file is no use, when it is there
    {
        std::ifstream in(path);
        std::string saved;
        if (std::getline(in, saved)) {
            try {
                auto pool = net::Cidr::parse(saved);
                net::check_family(pool, net::Family::v6, path);
                return pool;
            } catch (const std::exception& error) {
                trouble = path + " is damaged (" + error.what() + ")";
            }
        } else if (std::error_code ec; std::filesystem::exists(path, ec)) {
            trouble = path + " is empty or unreadable";
        }
    }
    auto in_use = TunService::pool6_in_use(adopted);
    net::Cidr pool;
    if (in_use) {
        pool = *in_use;
    } else {
        std::random_device entropy; // the OS's generator: getrandom or arc4random
        pool = net::unique_local_prefix(std::uint64_t{entropy()} << 32 | entropy());
    }
    if (trouble.empty() && !adopted.empty()) trouble = path + " is missing";
    if (trouble.empty()) {
        spdlog::info("drew the IPv6 pool {} for this host, kept in {}", pool.to_string(), path);
    } else if (in_use) {
        spdlog::error("{} while {} TUNs of ours exist; recovered the IPv6 pool {} from their addresses and wrote it "
                      "to {} again",
                      trouble, adopted.size(), pool.to_string(), path);
    } else {
        spdlog::error("{} and no TUN of ours has a unique local IPv6 address; drew a new IPv6 pool {}, kept in {}",
                      trouble, pool.to_string(), path);
    }
    try {
        platform::write_durably(state_dir_, path, pool.to_string() + "\n");
    } catch (const std::exception& error) {
        spdlog::error("{}; the next start looks for the IPv6 pool again", error.what());
    }
    return pool;
}

std::vector<Restored> while_busy(const std::function<std::vector<Restored>()>& attempt) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (bool said = false;;) {
        try {
            return attempt();
        } catch (const Error& error) {
            if (error.code() != ErrorCode::busy || std::chrono::steady_clock::now() > give_up) throw;
            if (!said) spdlog::warn("{}; waiting for it (10 s at most)", error.what());
            said = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void log_restored(const std::vector<Restored>& outcomes) {
    for (const auto& outcome : outcomes) {
        if (outcome.ok) {
            spdlog::info("{}", outcome.message);
        } else {
            spdlog::error("{}", outcome.message);
        }
    }
}

namespace {
std::string read_token(const std::string& path);
std::optional<platform::Account> become(const Options& options, bool log);
} // namespace

int run(const Options& options, const std::function<void()>& body) {
    // What the daemon creates (logs, journal, lock, sockets) is its own
    // alone unless it says otherwise.
    ::umask(077);
    try {
        platform::require_privileges();
    } catch (const std::exception& error) {
        std::cerr << options.program << ": " << error.what() << "\n";
        return 1;
    }
    try {
        setup_logging(options);
    } catch (const std::exception& error) {
        std::cerr << options.program << ": cannot open the logs in " << options.log_dir << ": " << error.what()
                  << "\n";
        return 1;
    }
    try {
        // A token file others could read or write is refused before the
        // daemon touches anything, as sshd refuses such a key.
        if (!options.token_file.empty()) read_token(options.token_file);
        // A --user that cannot be is refused before the kernel is touched.
        become(options, false);
        body();
        spdlog::info("{} stopped", options.program);
        spdlog::shutdown();
        return 0;
    } catch (const std::exception& error) {
        spdlog::critical("{} cannot start: {}", options.program, error.what());
        spdlog::shutdown();
        // On a terminal the line was just shown; where stderr is the .err log
        // itself (launchd's StandardErrorPath) it is already there.
        if (!isatty(STDERR_FILENO) && !stderr_is(options.log_dir + "/" + options.log_name + ".err")) {
            std::cerr << options.program << ": " << error.what() << "\n";
        }
        return 1;
    }
}

namespace {

// The first line of the token file, once its owner and mode show that only
// the daemon's own user could have read or written it. They are checked on
// the open file, so that it cannot be swapped between the check and the read.
std::string read_token(const std::string& path) {
    platform::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) fail(ErrorCode::unavailable, "cannot read the token file " + path + ": " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        fail(ErrorCode::unavailable, "cannot read the token file " + path + ": " + std::strerror(errno));
    }
    if (auto problem = token_file_problem(path, info.st_mode, info.st_uid, ::geteuid()); !problem.empty()) {
        fail(ErrorCode::invalid, problem);
    }
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(ErrorCode::unavailable, "cannot read the token file " + path + ": " + std::strerror(errno));
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.find('\n') != std::string::npos || text.size() > 64 * 1024) break;
    }
    auto token = text.substr(0, text.find('\n'));
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (token.empty()) fail(ErrorCode::invalid, "the token file " + path + " is empty");
    return token;
}

http::AdminGroup admin_group(const std::string& name) {
    auto gid = platform::find_group(name);
    if (gid) {
        spdlog::info("admins: root and the members of the group {} (gid {}); other users may only read", name, *gid);
    } else {
        spdlog::warn("there is no group {} (--admin-group): only root may change anything; other users may only read",
                     name);
    }
    return {name, gid};
}

std::string machine_id() {
    std::ifstream in("/etc/machine-id");
    std::string id;
    std::getline(in, id);
    if (id.empty()) fail(ErrorCode::invalid, "/etc/machine-id is missing or empty: name this host with --node-id");
    return id;
}

} // namespace

std::string token_file_problem(const std::string& path, unsigned mode, unsigned owner, unsigned own_uid) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode & 07777);
    if (owner != own_uid) {
        return "the token file " + path + " is owned by uid " + std::to_string(owner) + ", not by the daemon's uid " +
               std::to_string(own_uid) + ": chown it";
    }
    if ((mode & 077) != 0) {
        return "the token file " + path + " is open to group or others (mode " + octal + "): chmod 600 it";
    }
    return {};
}

Coordination::Coordination(const Options& options) {
    if (options.coordinator.empty()) return;
    etcd_ = std::make_unique<EtcdCoordinator>(EtcdSettings{parse_etcd_endpoints(options.coordinator),
                                                           options.node_id.empty() ? machine_id() : options.node_id,
                                                           options.program, net::Cidr::parse(options.pool),
                                                           std::chrono::seconds(options.lease_ttl)});
}

void Coordination::track(std::function<HeldBlocks()> held) {
    held_ = std::move(held);
    maintain();
}

void Coordination::maintain() {
    if (etcd_ && held_) etcd_->track(held_());
}

void Coordination::on_decided(std::function<void()> callback) {
    if (etcd_) etcd_->on_decided(std::move(callback));
}

void Coordination::start() {
    if (etcd_) etcd_->start(std::chrono::seconds(10));
}

std::chrono::milliseconds Coordination::maintain_every() const {
    return etcd_ ? std::chrono::milliseconds(etcd_->lease_ttl()) / 3 : std::chrono::milliseconds::zero();
}

void add_cluster_routes(http::Router& router, Coordinator& coordinator) {
    router.add(http::verb::get, "/cluster/blocks", [&coordinator](const http::Request&) {
        auto out = nlohmann::json::array();
        for (const auto& claim : coordinator.claims()) {
            out.push_back({{"block", claim.block.to_string()},
                           {"node", claim.node},
                           {"daemon", claim.daemon},
                           {"name", claim.name},
                           {"created", claim.created}});
        }
        return http::Response::json(http::status::ok, out);
    });
}

void add_status_routes(http::Router& router, const http::Metrics& metrics, Status status) {
    auto started = std::chrono::steady_clock::now();
    router.add(http::verb::get, "/healthz", [started, probe = status.probe,
                                             problems = status.problems](const http::Request&) {
        auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
        nlohmann::json body{{"status", "ok"}, {"version", NETD_VERSION}, {"uptime_s", uptime.count()}};
        try {
            probe();
        } catch (const std::exception& error) {
            spdlog::error("health probe failed: {}", error.what());
            body["status"] = "unavailable";
            return http::Response::json(http::status::service_unavailable, body);
        }
        if (auto found = problems(); !found.empty()) {
            body["status"] = "degraded";
            body["problems"] = found;
        }
        return http::Response::json(http::status::ok, body);
    });
    router.add(http::verb::get, "/metrics", [&metrics, gauges = status.gauges](const http::Request&) {
        return http::Response::plain(metrics.render(gauges()), "text/plain; version=0.0.4");
    });
}

namespace {

// Picks the user to become (see choose_user) and, when there is one, gives
// it what the daemon writes from then on: the state directory and the two
// log files (reopened on SIGHUP). The allocation lock and the sockets stay
// root's: they are open already.
std::optional<platform::Account> become(const Options& options, bool log) {
    auto asked = platform::find_account(options.user);
    auto choice = choose_user(options.user, static_cast<std::uint32_t>(::geteuid()),
                              platform::can_become_another_user(), asked.has_value());
    if (!choice.become.empty() && asked->uid == 0) {
        fail(ErrorCode::invalid, "--user " + options.user + " is uid 0, root by another name; name an unprivileged user");
    }
    if (!log) return std::nullopt;
    if (choice.warn) {
        spdlog::warn("{}", choice.note);
    } else {
        spdlog::info("{}", choice.note);
    }
    if (choice.become.empty()) return std::nullopt;
    auto account = asked;
    for (const auto& device : options.devices) {
        if (!platform::may_open(*account, device)) {
            spdlog::warn("{} is closed to the user {} (most distributions make it 0666; chmod 666 {}), so the "
                         "daemon stays root, with CAP_NET_ADMIN alone",
                         device, account->name, device);
            return std::nullopt;
        }
    }
    platform::hand_over(options.state_dir, *account);
    for (const auto* suffix : {".log", ".err"}) {
        auto path = options.log_dir + "/" + options.log_name + suffix;
        if (std::filesystem::exists(path)) platform::hand_over(path, *account);
    }
    return account;
}

// Flushes the logs every second on a thread of its own, so that lines of
// requests already answered reach the disk whatever the I/O thread is doing.
// Made once privileges are dropped, and it gives up even CAP_NET_ADMIN.
class LogFlusher {
public:
    LogFlusher()
        : thread_([this] {
              platform::drop_thread_privileges(); // it needs none
              std::unique_lock lock(mutex_);
              while (!stopping_) {
                  stop_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
                  spdlog::default_logger()->flush();
              }
          }) {}
    ~LogFlusher() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        stop_.notify_all();
        thread_.join();
    }
    LogFlusher(const LogFlusher&) = delete;
    LogFlusher& operator=(const LogFlusher&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread thread_;
};

// Runs `task` every `interval` until the timer's io_context stops.
void repeat(boost::asio::steady_timer& timer, std::chrono::milliseconds interval, std::function<void()> task) {
    timer.expires_after(interval);
    timer.async_wait([&timer, interval, task = std::move(task)](const boost::system::error_code& ec) mutable {
        if (ec) return;
        task();
        repeat(timer, interval, std::move(task));
    });
}

} // namespace

void serve(const Options& options, http::Router& router, Status status, Coordination& coordination,
           const OpenSidecar& sidecar) {
    http::Metrics metrics;
    status.problems = [own = std::move(status.problems), &coordination] {
        auto all = own();
        for (auto& problem : coordination.problems()) all.push_back(std::move(problem));
        return all;
    };
    status.gauges = [own = std::move(status.gauges), &coordination] {
        auto all = own();
        for (auto& gauge : coordination.gauges()) all.push_back(std::move(gauge));
        return all;
    };
    add_status_routes(router, metrics, std::move(status));
    add_cluster_routes(router, coordination.coordinator());

    boost::asio::io_context io{1};
    // Taken over before anything listens: a SIGTERM sent as soon as the port
    // answers is queued for the handler below, not fatal.
    boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
    boost::asio::signal_set hangup(io, SIGHUP);
    // The Unix socket is set up before the TCP port listens, so that a
    // client that sees the port answer finds both ready.
    std::optional<boost::asio::local::stream_protocol::acceptor> local;
    if (!options.unix_socket.empty()) local = http::listen_unix(io, options.unix_socket, options.unix_socket_group);
    auto acceptor = http::listen(io, http::parse_endpoint(options.listen));
    // After the port, so that a daemon whose port is taken leaves nothing
    // behind; still before anything is accepted or READY=1 is sent.
    auto side = sidecar ? sidecar(io) : nullptr;
    auto bound = acceptor.local_endpoint();
    auto hosts = http::AccessPolicy::default_hosts(bound);
    hosts.insert(hosts.end(), options.allow_hosts.begin(), options.allow_hosts.end());
    http::AccessPolicy policy(hosts, options.token_file.empty() ? "" : read_token(options.token_file),
                              admin_group(options.admin_group),
                              options.self_service.enabled ? options.self_service_collection : "");
    if (options.self_service.enabled) {
        spdlog::info("self-service: users who are not admins may create and delete their own under {}, {} each at most",
                     options.self_service_collection, options.self_service.quota);
    }
    http::Server server(io, {router, policy, metrics}, options.limits);
    server.serve(std::move(acceptor));
    if (local) {
        server.serve(std::move(*local));
        spdlog::info("also listening on {}", options.unix_socket);
    }
    auto account = become(options, true);
    spdlog::info("capabilities kept: {}", platform::drop_privileges(account));
    LogFlusher flusher;
    // Busy requests run again as soon as their claim is decided; not once
    // the io_context is gone.
    if (coordination.coordinated()) coordination.on_decided(server.waker());
    struct Unhook {
        Coordination& coordination;
        ~Unhook() { coordination.on_decided({}); }
    } unhook{coordination};
    coordination.start();
    server.start();
    if (side) side->start();

    // SIGTERM: stop accepting and give the requests in flight a bounded
    // time to finish; the interfaces stay. SIGHUP: reopen the logs (logrotate).
    // (The signal sets exist since before the port listened.)
    boost::asio::steady_timer drain(io);
    auto deadline = std::chrono::steady_clock::time_point::max();
    std::function<void()> wait_for_drain = [&] {
        if (server.open_connections() == 0 || std::chrono::steady_clock::now() >= deadline) return io.stop();
        drain.expires_after(std::chrono::milliseconds(20));
        drain.async_wait([&](const boost::system::error_code&) { wait_for_drain(); });
    };
    stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("{} received, shutting down; interfaces stay", signal == SIGINT ? "SIGINT" : "SIGTERM");
        server.stop();
        if (side) side->stop();
        hangup.cancel();
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        wait_for_drain();
    });
    std::function<void(const boost::system::error_code&, int)> on_hangup = [&](const boost::system::error_code& ec,
                                                                               int) {
        if (ec) return;
        try {
            setup_logging(options);
            spdlog::info("SIGHUP received, log files reopened");
        } catch (const std::exception& error) {
            // The old files stay open (the daemon may no longer create
            // files in the log directory once it is not root).
            spdlog::error("SIGHUP received, but the log files cannot be reopened: {}; logging on to the old ones",
                          error.what());
        }
        hangup.async_wait(on_hangup);
    };
    hangup.async_wait(on_hangup);

    // What the daemon holds is handed to the coordinator (memory only: its
    // own threads talk to etcd, keeping the lease alive on their schedule).
    boost::asio::steady_timer maintenance(io);
    if (coordination.coordinated()) repeat(maintenance, coordination.maintain_every(), [&] { coordination.maintain(); });

    spdlog::info("{} {} listening on {}:{}", options.program, NETD_VERSION, bound.address().to_string(),
                 bound.port());
    platform::notify_ready();
    io.run();
}

} // namespace netd::daemon
