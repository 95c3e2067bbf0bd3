#include <unistd.h>

#include <csignal>
#include <fstream>
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
    app.add_option("--allow-host", options.allow_hosts,
                   "Also accept requests with this Host header (HOST:PORT); repeatable");
    app.add_option("--token-file", options.token_file,
                   "Require 'Authorization: Bearer <token>' with the token in this file")
        ->check(CLI::ExistingFile);
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

namespace {

std::string read_token(const std::string& path) {
    std::ifstream in(path);
    std::string token;
    std::getline(in, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (!in && !in.eof()) fail(ErrorCode::unavailable, "cannot read the token file " + path);
    if (token.empty()) fail(ErrorCode::invalid, "the token file " + path + " is empty");
    return token;
}

} // namespace

void serve(const Options& options, const http::Router& router) {
    boost::asio::io_context io{1};
    auto acceptor = http::listen(io, http::parse_endpoint(options.listen));
    auto bound = acceptor.local_endpoint();
    auto hosts = http::AccessPolicy::default_hosts(bound);
    hosts.insert(hosts.end(), options.allow_hosts.begin(), options.allow_hosts.end());
    http::AccessPolicy policy(hosts, options.token_file.empty() ? "" : read_token(options.token_file));
    http::Server server(io, std::move(acceptor), router, policy);
    server.start();

    boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
    stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("{} received, shutting down; interfaces stay", signal == SIGINT ? "SIGINT" : "SIGTERM");
        server.stop();
        io.stop();
    });

    spdlog::info("{} {} listening on {}:{}", options.program, NETD_VERSION, bound.address().to_string(),
                 bound.port());
    notify_ready();
    io.run();
}

} // namespace netd::daemon
