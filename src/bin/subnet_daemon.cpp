#include "netd/daemon/daemon.hpp"
#include "netd/platform/platform.hpp"
#include "netd/subnet/routes.hpp"

int main(int argc, char** argv) {
    netd::daemon::Options options{.program = "subnet-daemon",
                                  .log_name = "subnet_daemon",
                                  .listen = "127.0.0.1:3031",
                                  .self_service_collection = "/subnet"};
    netd::platform::SubnetMode mode = netd::platform::SubnetMode::automatic;
    bool allow_outside_pool = false;

    CLI::App app{"subnet-daemon: configures subnets on the host through a local REST API", "subnet-daemon"};
    netd::daemon::add_common_options(app, options);
    app.add_option("--backend", mode, "Where subnets live: a dummy interface each, or addresses on loopback")
        ->transform(CLI::CheckedTransformer(std::map<std::string, netd::platform::SubnetMode>{
            {"auto", netd::platform::SubnetMode::automatic},
            {"dummy", netd::platform::SubnetMode::dummy},
            {"loopback", netd::platform::SubnetMode::loopback}}))
        ->default_str("auto");
    std::string pool6 = "fd00::/8";
    app.add_option("--pool6", pool6, "IPv6 range that explicit IPv6 subnets must lie in")->capture_default_str();
    app.add_flag("--allow-outside-pool", allow_outside_pool,
                 "Accept explicit subnets outside --pool and --pool6 (from admins; never through --self-service)");
    netd::daemon::add_self_service_options(app, options, "subnets");
    CLI11_PARSE(app, argc, argv);

    return netd::daemon::run(options, [&] {
        auto host = netd::platform::make_host_network(options.lock_file);
        netd::daemon::SavedIntents saved(options);
        auto backend = netd::platform::make_subnet_backend(mode, saved.intents());
        netd::daemon::Coordination coordination(options);
        netd::SubnetService service(*backend, *host, saved.intents(),
                                    {.pool = netd::net::Cidr::parse(options.pool),
                                     .pool6 = netd::net::Cidr::parse(pool6),
                                     .allow_outside_pool = allow_outside_pool},
                                    coordination.coordinator());
        netd::daemon::square_with_kernel(options, saved, service);
        coordination.track([&] {
            netd::HeldBlocks held;
            for (const auto& subnet : service.list()) {
                if (subnet.network.family() == netd::net::Family::v4) held.emplace_back(subnet.network, "");
            }
            return held;
        });
        netd::http::Router router;
        netd::add_subnet_routes(router, service, options.self_service);
        netd::daemon::serve(options, router,
                            netd::daemon::with_journal({.probe = [&] { backend->list(); },
                                                        .gauges = [&] { return netd::subnet_gauges(service); }},
                                                       saved),
                            coordination);
    });
}
