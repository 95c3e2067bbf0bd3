#include <unistd.h>

#include <csignal>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "netd/daemon.hpp"
#include "netd/error.hpp"
#include "netd/http/server.hpp"

namespace netd::daemon {

void add_common_options(CLI::App& app, Options& options) {
    app.add_option("--listen", options.listen, "Address and port to serve the API on")
        ->capture_default_str();
    app.add_option("--log-dir", options.log_dir, "Directory of the .log and .err files")->capture_default_str();
    app.add_option("--log-level", options.log_level, "Lowest level to log")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.add_option("--pool", options.pool, "IPv4 range to allocate blocks from")->capture_default_str();
    app.set_version_flag("--version", std::string(NETD_VERSION));
}

int run(const Options& options, const std::function<void()>& body) {
    try {
        setup_logging(options);
    } catch (const std::exception& error) {
        std::cerr << options.program << ": cannot open the logs in " << options.log_dir << ": " << error.what()
                  << "\n";
        return 1;
    }
    try {
        body();
        spdlog::info("{} stopped", options.program);
        spdlog::shutdown();
        return 0;
    } catch (const std::exception& error) {
        spdlog::critical("{} cannot start: {}", options.program, error.what());
        spdlog::shutdown();
        if (!isatty(STDERR_FILENO)) std::cerr << options.program << ": " << error.what() << "\n";
        return 1;
    }
}

void serve(const Options& options, const http::Router& router) {
    boost::asio::io_context io{1};
    http::Server server(io, http::parse_endpoint(options.listen), router);
    server.start();

    boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
    stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("{} received, shutting down; interfaces stay", signal == SIGINT ? "SIGINT" : "SIGTERM");
        server.stop();
        io.stop();
    });

    auto endpoint = server.local_endpoint();
    spdlog::info("{} {} listening on {}:{}", options.program, NETD_VERSION, endpoint.address().to_string(),
                 endpoint.port());
    notify_ready();
    io.run();
}

} // namespace netd::daemon
