#include "netd/tunnel/program.hpp"

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "netd/client/bearer_token.hpp"
#include "netd/client/daemon_check.hpp"
#include "netd/daemon/daemon.hpp"
#include "netd/error.hpp"
#include "netd/platform/tunnel_io.hpp"
#include "netd/strict_json.hpp"
#include "netd/tun/fd_access.hpp"
#include "netd/tunnel/client.hpp"
#include "netd/tunnel/metrics_endpoint.hpp"
#include "netd/tunnel/server.hpp"
#include "netd/tunnel_config.hpp"

namespace netd::tunnel {
namespace {

namespace asio = boost::asio;

constexpr int exit_failed = 1;
constexpr int exit_invalid = 2;

struct Flags {
    std::string config;
    std::string tun = "127.0.0.1:3030";
    std::string tun_socket;
    std::string token_file;
    std::string fd_socket = default_fd_socket;
    std::string metrics;
    std::string log_dir;
    std::string log_level = "info";
    bool no_offloads = false;
};

// A bad config: one line, naming the file and the field.
struct BadConfig {
    std::string message;
};

std::string read_file(const std::string& path, const std::string& what) {
    std::ifstream in(path);
    if (!in) throw BadConfig{what + ": cannot read " + path + ": " + std::strerror(errno)};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<Definition> load(const std::string& path) {
    auto text = read_file(path, path);
    nlohmann::json json;
    try {
        // A config nests a few levels: definitions, clients, their fields.
        json = parse_strict_json(text, 16);
    } catch (const Error& error) {
        // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." without the prefix.
        std::string what = error.what();
        auto at = what.find("[json.exception.");
        if (at != std::string::npos) what.erase(at, what.find("] ", at) + 2 - at);
        throw BadConfig{path + ": " + what};
    }
    try {
        return parse_config(json);
    } catch (const ConfigError& error) {
        throw BadConfig{path + ": " + error.what()};
    }
}

std::shared_ptr<asio::ssl::context> server_tls(const ServerConfig& server, const std::string& where) {
    if (!server.tls) return nullptr;
    auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                     asio::ssl::context::single_dh_use);
    boost::system::error_code ec;
    tls->use_certificate_chain_file(server.tls->cert, ec);
    if (ec) throw BadConfig{where + "tls.cert: cannot use " + server.tls->cert + ": " + ec.message()};
    tls->use_private_key_file(server.tls->key, asio::ssl::context::pem, ec);
    if (ec) throw BadConfig{where + "tls.key: cannot use " + server.tls->key + ": " + ec.message()};
    return tls;
}

std::shared_ptr<asio::ssl::context> client_tls(const ClientConfig& client, const std::string& where) {
    if (!client.server.tls) return nullptr;
    auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (client.insecure) {
        tls->set_verify_mode(asio::ssl::verify_none);
        return tls;
    }
    tls->set_verify_mode(asio::ssl::verify_peer);
    if (!client.ca.empty()) {
        tls->load_verify_file(client.ca, ec);
        if (ec) throw BadConfig{where + "ca: cannot use " + client.ca + ": " + ec.message()};
    } else {
        tls->set_default_verify_paths(ec);
        if (ec) throw BadConfig{where + "ca: the system's certificate store cannot be read: " + ec.message()};
    }
    return tls;
}

std::string token_of(const Flags& flags) {
    auto token = client::bearer_token(flags.token_file);
    if (!token) throw BadConfig{"--token-file: cannot read " + flags.token_file + ": " + std::strerror(errno)};
    return *token;
}

void setup_logging(const Flags& flags) {
    if (!flags.log_dir.empty()) {
        daemon::Options options;
        options.program = options.log_name = "netd-tunnel";
        options.log_dir = flags.log_dir;
        options.log_level = flags.log_level;
        daemon::setup_logging(options);
    } else {
        // Under systemd or launchd, stderr is the journal or the log file.
        auto logger = spdlog::stderr_logger_mt("netd-tunnel");
        logger->set_level(spdlog::level::from_str(flags.log_level));
        spdlog::set_default_logger(logger);
    }
    // Connects and refusals are rare; each reaches the disk at once.
    spdlog::default_logger()->flush_on(spdlog::level::info);
}

// The server's TUN, before anything is served: tun-daemon may still be
// starting (both units start at boot), so it is asked again for a while.
client::TunDescriptor server_tun(const DaemonAccess& daemon, const ServerConfig& server) {
    TunWanted wanted;
    wanted.name = server.name;
    wanted.address = server.net;
    wanted.mtu = server.mtu;
    wanted.extra_addresses = server.ips;
    for (const auto& client : server.clients) {
        for (const auto& route : client.routes) wanted.routes.push_back(route);
    }
    wanted.mark = server.mark;
    wanted.owner = ::geteuid();
    for (int attempt = 1;; ++attempt) {
        try {
            return set_up_tun(daemon, wanted);
        } catch (const Error& error) {
            if (error.code() != ErrorCode::unavailable || attempt == 20) throw;
            spdlog::warn("{}: {}; asking again in 1 s", server.name, error.what());
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    Flags flags;
    CLI::App app{"netd-tunnel: IP over HTTP(S) between hosts, with the TUN from tun-daemon and no privileges"};
    app.add_option("CONFIG", flags.config, "The config file (tapotun's JSON format; see README)")->required();
    app.add_option("--tun", flags.tun, "tun-daemon's HOST:PORT")->capture_default_str();
    app.add_option("--tun-socket", flags.tun_socket, "Reach tun-daemon on this Unix socket instead");
    app.add_option("--token-file", flags.token_file, "File with tun-daemon's bearer token (else $NETD_TOKEN)");
    app.add_option("--fd-socket", flags.fd_socket, "tun-daemon's fd socket")->capture_default_str();
    app.add_option("--metrics", flags.metrics, "Serve GET /metrics on HOST:PORT or unix:PATH");
    app.add_option("--log-dir", flags.log_dir, "Write netd-tunnel.log and .err here (default: stderr only)");
    app.add_option("--log-level", flags.log_level, "trace, debug, info, warn or error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.add_flag("--no-offloads", flags.no_offloads,
                 "Read and write plain packets, cutting the peers' TCP segments here (as on macOS, whose utun "
                 "has no offloads)");
    app.set_version_flag("--version", NETD_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        auto code = app.exit(error);
        return code == 0 ? 0 : exit_invalid;
    }

    std::vector<Definition> definitions;
    std::vector<std::shared_ptr<asio::ssl::context>> contexts;
    DaemonAccess daemon;
    try {
        definitions = load(flags.config);
        for (std::size_t i = 0; i < definitions.size(); ++i) {
            auto where = flags.config + ": " + (definitions.size() > 1 ? "[" + std::to_string(i) + "]." : "");
            contexts.push_back(std::visit(
                [&](const auto& definition) {
                    if constexpr (std::is_same_v<std::decay_t<decltype(definition)>, ServerConfig>) {
                        return server_tls(definition, where);
                    } else {
                        return client_tls(definition, where);
                    }
                },
                definitions[i]));
        }
        daemon.api = {flags.tun, flags.tun_socket, client::check_daemon};
        daemon.token = token_of(flags);
        daemon.fd_socket = flags.fd_socket;
        daemon.offloads = !flags.no_offloads;
    } catch (const BadConfig& bad) {
        std::cerr << "netd-tunnel: " << bad.message << "\n";
        return exit_invalid;
    }

    try {
        setup_logging(flags);
    } catch (const std::exception& error) {
        std::cerr << "netd-tunnel: cannot open the logs in " << flags.log_dir << ": " << error.what() << "\n";
        return exit_failed;
    }

    try {
        // Nothing here needs a privilege: tun-daemon makes the TUN and
        // hands over its descriptor. So whatever this process was started
        // with goes now, before any thread exists (capabilities are each
        // thread's) and before a byte comes from the network.
        platform::drop_all_privileges();
        spdlog::info("netd-tunnel {} started; capabilities: {}, no_new_privs", NETD_VERSION,
                     platform::effective_privileges());

        // One thread runs it all; a client's worker thread (its calls to
        // tun-daemon, on an io_context of their own) only posts back here.
        // So the reactor's per-descriptor locks, taken several times for
        // every packet, can go; the scheduler's stay, for those posts.
        asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
        std::vector<std::unique_ptr<TunnelServer>> servers;
        std::vector<std::unique_ptr<TunnelClient>> clients;
        std::map<std::string, const Counters*> counters;
        for (std::size_t i = 0; i < definitions.size(); ++i) {
            if (auto* server = std::get_if<ServerConfig>(&definitions[i])) {
                auto tun = server_tun(daemon, *server);
                servers.push_back(std::make_unique<TunnelServer>(io, *server, std::move(tun), contexts[i]));
                servers.back()->start();
                counters[server->name] = &servers.back()->counters();
            } else {
                auto& client = std::get<ClientConfig>(definitions[i]);
                clients.push_back(std::make_unique<TunnelClient>(io, client, daemon, contexts[i]));
                clients.back()->start();
                counters[client.name] = &clients.back()->counters();
            }
        }
        if (!flags.metrics.empty()) serve_metrics(io, flags.metrics, [&counters] { return render(counters); });

        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&io](const boost::system::error_code& ec, int signal) {
            if (ec) return;
            // The TUNs are tun-daemon's and persist: a restart finds them.
            spdlog::info("stopping on signal {}", signal);
            io.stop();
        });
        std::signal(SIGPIPE, SIG_IGN);
        io.run();
        for (const auto& server : servers) {
            if (server->failed()) return exit_failed;
        }
        return 0;
    } catch (const std::exception& error) {
        spdlog::error("{}", error.what());
        if (!flags.log_dir.empty()) std::cerr << "netd-tunnel: " << error.what() << "\n";
        return exit_failed;
    }
}

} // namespace netd::tunnel
