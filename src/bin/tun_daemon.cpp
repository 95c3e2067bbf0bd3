#include "netd/daemon/daemon.hpp"
#include "netd/platform/platform.hpp"
#include "netd/tun/fd_socket.hpp"
#include "netd/tun/routes.hpp"

int main(int argc, char** argv) {
    netd::daemon::Options options{.program = "tun-daemon",
                                  .log_name = "tun_daemon",
                                  .listen = "127.0.0.1:3030",
                                  .self_service_collection = "/tun"};
    // Each create opens it anew, long after the daemon has stopped being root.
    options.devices = {"/dev/net/tun"};
    CLI::App app{"tun-daemon: creates TUN interfaces through a local REST API", "tun-daemon"};
    netd::daemon::add_common_options(app, options);
    std::string pool6;
    app.add_option("--pool6", pool6,
                   "IPv6 range to allocate /64s from (default: a unique local /48 drawn once for this host)");
    netd::daemon::add_self_service_options(app, options, "TUNs");
    std::string fd_socket = netd::default_fd_socket;
    app.add_option("--fd-socket", fd_socket,
                   "Unix socket (mode 0666) that hands a TUN's descriptor to root, its owner or its group "
                   "(netctl tun exec); empty: none")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    return netd::daemon::run(options, [&] {
        auto host = netd::platform::make_host_network(options.lock_file);
        auto backend = netd::platform::make_tun_backend();
        netd::daemon::SavedIntents saved(options);
        netd::daemon::Coordination coordination(options);
        netd::TunService service(*backend, *host, saved.intents(), netd::net::Cidr::parse(options.pool),
                                 saved.ipv6_pool(pool6, backend->list()), coordination.coordinator());
        netd::daemon::square_with_kernel(options, saved, service);
        coordination.track([&] {
            netd::HeldBlocks held;
            for (const auto& tun : service.list()) held.emplace_back(tun.address.network(), tun.name);
            return held;
        });
        netd::http::Router router;
        netd::add_tun_routes(router, service, options.self_service);
        netd::daemon::serve(options, router,
                            netd::daemon::with_journal({.probe = [&] { backend->list(); },
                                                        .gauges = [&] { return netd::tun_gauges(service); }},
                                                       saved),
                            coordination, [&](boost::asio::io_context& io) -> std::unique_ptr<netd::daemon::Sidecar> {
                                if (fd_socket.empty()) return nullptr;
                                return std::make_unique<netd::FdSocket>(io, fd_socket, service, *backend);
                            });
    });
}
