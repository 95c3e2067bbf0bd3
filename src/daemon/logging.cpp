#include <unistd.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "netd/daemon/daemon.hpp"

namespace netd::daemon {
namespace {

// Passes on only the records at or below a level, so that the .log file
// holds TRACE to INFO and nothing that also lands in the .err file.
class CappedSink : public spdlog::sinks::sink {
public:
    CappedSink(spdlog::sink_ptr inner, spdlog::level::level_enum max) : inner_(std::move(inner)), max_(max) {}

    void log(const spdlog::details::log_msg& msg) override {
        if (msg.level <= max_) inner_->log(msg);
    }
    void flush() override { inner_->flush(); }
    void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
    void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
        inner_->set_formatter(std::move(formatter));
    }

private:
    spdlog::sink_ptr inner_;
    spdlog::level::level_enum max_;
};

} // namespace

void setup_logging(const Options& options) {
    auto base = options.log_dir + "/" + options.log_name;
    auto log_file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(base + ".log");
    auto err_file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(base + ".err");
    err_file->set_level(spdlog::level::warn);
    std::vector<spdlog::sink_ptr> sinks{std::make_shared<CappedSink>(log_file, spdlog::level::info), err_file};
    if (isatty(STDERR_FILENO)) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());

    auto logger = std::make_shared<spdlog::logger>(options.program, sinks.begin(), sinks.end());
    logger->set_level(spdlog::level::from_str(options.log_level));
    // Errors reach the disk at once; the rest every second (serve() has a
    // thread for it, made once privileges are dropped: spdlog's own would be
    // made now and keep root's capabilities), which keeps a synchronous write
    // off every request.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

} // namespace netd::daemon
