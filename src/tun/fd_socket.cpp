#include "netd/tun/fd_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "descriptor_passing.hpp"
#include "netd/http/log_limiter.hpp"
#include "netd/http/log_text.hpp"
#include "netd/platform/platform.hpp"
#include "netd/tun/fd_access.hpp"
#include "unique_fd.hpp"

namespace netd {
namespace asio = boost::asio;
using Protocol = asio::local::stream_protocol;

namespace {

[[noreturn]] void fail_path(const std::string& path, const std::string& why) {
    fail(ErrorCode::unavailable, "cannot serve descriptors on " + path + ": " + why);
}

sockaddr_un address_of(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path) fail_path(path, "the path is empty or too long");
    std::memcpy(address.sun_path, path.c_str(), path.size());
    return address;
}


// Users must reach the socket: its directory needs search permission for
// them. /run/netd holds the allocation lock too, so it stays closed to their
// writes and listings (0711 at most is added); a directory of someone
// else's is left as it is, with a warning when users cannot pass it.
void open_for_search(const std::string& path) {
    auto directory = std::filesystem::path(path).parent_path();
    if (directory.empty()) return;
    std::error_code ignored;
    std::filesystem::create_directories(directory, ignored);
    struct stat status {};
    if (::stat(directory.c_str(), &status) != 0) fail_path(path, "its directory: " + std::string(std::strerror(errno)));
    if ((status.st_mode & 0001) != 0) return;
    if (status.st_uid == ::geteuid() && ::chmod(directory.c_str(), (status.st_mode & 07777) | 0011) == 0) {
        spdlog::info("{} opened for search (mode +011), so that users reach the fd socket in it", directory.string());
        return;
    }
    spdlog::warn("users other than root cannot reach the fd socket {}: its directory is closed to them (chmod o+x {}, "
                 "or choose another --fd-socket)",
                 path, directory.string());
}

// A socket file left by an earlier run would make bind fail. One that still
// answers belongs to a live daemon, whose socket must not be taken.
void clear_stale(const std::string& path) {
    struct stat status {};
    if (::lstat(path.c_str(), &status) != 0) return;
    if (!S_ISSOCK(status.st_mode)) fail_path(path, "something other than a socket is there");
    auto probe = platform::unix_stream_socket();
    auto address = address_of(path);
    ::fcntl(probe.get(), F_SETFL, O_NONBLOCK);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 || errno == EAGAIN) {
        fail_path(path, "another process serves it (a second tun-daemon?): give this one another --fd-socket");
    }
    ::unlink(path.c_str());
}

platform::UniqueFd bind_socket(const std::string& path) {
    auto address = address_of(path);
    open_for_search(path);
    clear_stale(path);
    auto fd = platform::unix_stream_socket();
    if (!fd) fail_path(path, std::strerror(errno));
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        fail_path(path, std::strerror(errno));
    }
    // Anyone may connect: the credentials the kernel records decide.
    if (::chmod(path.c_str(), 0666) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) fail_path(path, std::strerror(errno));
    return fd;
}

} // namespace

struct FdSocket::State : std::enable_shared_from_this<FdSocket::State> {
    State(asio::io_context& io, TunService& service, TunBackend& backend, FdSocketLimits limits)
        : io(io), acceptor(io), service(service), backend(backend), limits(limits), pause(io), sweeper(io),
          refusals({}, [](const http::LogLimiter::Summary& summary) {
              spdlog::warn("... and {} more refused descriptor requests from {} in the last {} s", summary.held,
                           summary.key, std::chrono::duration_cast<std::chrono::seconds>(summary.over).count());
          }) {}

    asio::io_context& io;
    Protocol::acceptor acceptor;
    TunService& service;
    TunBackend& backend;
    FdSocketLimits limits;
    asio::steady_timer pause; // after a failed accept (out of descriptors)
    asio::steady_timer sweeper;
    http::LogLimiter refusals;
    std::size_t open = 0;
    bool stopped = false, accept_failing = false, sweeping = false;

    void do_accept();
    void on_accept(const boost::system::error_code& ec, Protocol::socket socket);
    void refused(const DescriptorClaimant& claimant, const Error& error);
    void schedule_sweep();
};

namespace {

// One client: its credentials, read at accept; one line within the
// deadline; one answer; closed.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(std::shared_ptr<FdSocket::State> state, Protocol::socket socket, DescriptorClaimant claimant)
        : state_(std::move(state)), socket_(std::move(socket)), deadline_(state_->io),
          claimant_(std::move(claimant)) {
        ++state_->open;
    }
    ~Connection() { --state_->open; }

    void start() {
        deadline_.expires_after(state_->limits.request_timeout);
        deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->socket_.close(); // the read below ends with an error
        });
        asio::async_read_until(socket_, asio::dynamic_buffer(line_, max_descriptor_request), '\n',
                               [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                                   self->on_line(ec);
                               });
    }

private:
    void on_line(const boost::system::error_code& ec) {
        deadline_.cancel();
        if (ec == asio::error::not_found) { // the buffer filled before a newline
            return answer(Error(ErrorCode::invalid, "a request is a TUN's name and a newline, at most " +
                                                        std::to_string(max_descriptor_request) + " bytes"));
        }
        if (ec) return; // closed, or the deadline passed: nobody is waiting for an answer
        try {
            auto request = parse_descriptor_request(line_.substr(0, line_.find('\n') + 1));
            const auto& name = request.name;
            auto tun = state_->service.get(name);
            if (auto refusal = descriptor_refusal(claimant_, tun)) fail(ErrorCode::forbidden, *refusal);
            auto fd = state_->backend.attach(name, request.vnet_hdr);
            if (!platform::send_with_descriptor(socket_.native_handle(), descriptor_granted(request), fd.get())) {
                spdlog::warn("could not hand {}'s descriptor to {}: {}", name, describe(claimant_),
                             std::strerror(errno));
                return;
            }
            spdlog::info("handed {}'s descriptor to {}", name, describe(claimant_));
        } catch (const Error& error) {
            answer(error);
        } catch (const std::exception& error) {
            answer(Error(ErrorCode::internal, error.what()));
        }
    }

    void answer(const Error& error) {
        state_->refused(claimant_, error);
        platform::send_with_descriptor(socket_.native_handle(), descriptor_refused(error));
    }

    std::shared_ptr<FdSocket::State> state_;
    Protocol::socket socket_;
    asio::steady_timer deadline_;
    DescriptorClaimant claimant_;
    std::string line_;
};

} // namespace

void FdSocket::State::refused(const DescriptorClaimant& claimant, const Error& error) {
    if (error.code() == ErrorCode::internal) {
        spdlog::error("fd socket: internal error answering {}: {}", describe(claimant), error.what());
        return;
    }
    // A refusal by credentials is what an admin wants to see (WARN), within
    // bounds: a loop of requests must not fill the disk.
    if (refusals.admit("uid " + std::to_string(claimant.uid))) {
        auto level = error.code() == ErrorCode::forbidden ? spdlog::level::warn : spdlog::level::info;
        spdlog::log(level, "fd socket: refused {}: {}", describe(claimant), http::loggable(error.what()));
    }
    schedule_sweep();
}

// While refusals are held back, their summaries are due once a second.
void FdSocket::State::schedule_sweep() {
    if (sweeping || !refusals.holding()) return;
    sweeping = true;
    sweeper.expires_after(std::chrono::seconds(1));
    sweeper.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        self->sweeping = false;
        if (ec) return;
        self->refusals.sweep();
        self->schedule_sweep();
    });
}

void FdSocket::State::do_accept() {
    if (stopped) return;
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, Protocol::socket socket) {
        self->on_accept(ec, std::move(socket));
    });
}

void FdSocket::State::on_accept(const boost::system::error_code& ec, Protocol::socket socket) {
    if (stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
        // Out of descriptors, accept fails at once until one is freed.
        if (!accept_failing) spdlog::warn("fd socket: accept failed: {}; pausing for a moment", ec.message());
        accept_failing = true;
        pause.expires_after(std::chrono::milliseconds(100));
        pause.async_wait([self = shared_from_this()](const boost::system::error_code& wait) {
            if (!wait) self->do_accept();
        });
        return;
    }
    if (accept_failing) spdlog::info("fd socket: accepting again");
    accept_failing = false;
    auto fd = socket.native_handle();
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    // Recorded by the kernel at connect: nothing the client sends changes it.
    auto peer = platform::unix_peer(fd);
    DescriptorClaimant claimant{peer ? peer->uid : 0, platform::unix_peer_groups(fd), peer ? peer->pid : std::nullopt};
    if (!peer) {
        platform::send_with_descriptor(
            fd, descriptor_refused(Error(ErrorCode::unavailable, "the kernel did not say who is calling")));
    } else if (open >= limits.max_connections) {
        platform::send_with_descriptor(
            fd, descriptor_refused(Error(ErrorCode::unavailable, "too many descriptor requests at once; try again")));
    } else {
        std::make_shared<Connection>(shared_from_this(), std::move(socket), std::move(claimant))->start();
    }
    do_accept();
}

FdSocket::FdSocket(asio::io_context& io, const std::string& path, TunService& service, TunBackend& backend,
                   FdSocketLimits limits)
    : state_(std::make_shared<State>(io, service, backend, limits)) {
    auto fd = bind_socket(path);
    boost::system::error_code ec;
    state_->acceptor.assign(Protocol(), fd.get(), ec);
    if (ec) fail_path(path, ec.message());
    (void)fd.release();
    spdlog::info("handing out TUN descriptors on {}", path);
}

FdSocket::~FdSocket() { stop(); }

void FdSocket::start() { state_->do_accept(); }

void FdSocket::stop() {
    state_->stopped = true;
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    state_->pause.cancel();
    state_->refusals.sweep(true);
    state_->sweeper.cancel();
}

} // namespace netd
