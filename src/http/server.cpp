#include "netd/http/server.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <vector>
#include <optional>

#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/http/connection_budget.hpp"
#include "netd/http/error_response.hpp"
#include "netd/http/log_limiter.hpp"
#include "netd/http/log_text.hpp"
#include "ids.hpp"
#include "netd/platform/platform.hpp"

namespace netd::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// What the listeners and sessions of one server share. The io_context runs
// on one thread, so nothing here needs a lock.
struct Server::Shared : std::enable_shared_from_this<Server::Shared> {
    Shared(asio::io_context& io, const ServerLimits& limits, Metrics& metrics)
        : budget(limits.max_connections, limits.reserved()), metrics(metrics),
          refusals({.others = "other callers"},
                   [](const LogLimiter::Summary& summary) {
                       spdlog::info("... and {} more refused requests from {} in the last {} s", summary.held,
                                    summary.key, std::chrono::ceil<std::chrono::seconds>(summary.over).count());
                   }),
          pressure({.per_key = 1, .total = 2, .keys = 2},
                   [](const LogLimiter::Summary& summary) {
                       spdlog::warn("... and {} more {} in the last {} s", summary.held, summary.key,
                                    std::chrono::ceil<std::chrono::seconds>(summary.over).count());
                   }),
          sweeper(io) {}

    // Counts the budget at work and logs it: a line when it begins, then a
    // summary per window while it lasts, never a line per connection.
    void note(ConnectionBudget::Admission admission) {
        if (admission == ConnectionBudget::Admission::evicted_one) {
            metrics.count_eviction();
            if (!pressure.admit(evicted)) return held_back();
            spdlog::warn("closing the connections idle longest to make room for new ones: {} are open of at most {} "
                         "(--max-connections), {} of them of callers other than the Unix socket's and admins, who "
                         "may hold {} (--reserved-connections)",
                         budget.open(), budget.cap(), budget.open_unprivileged(), budget.cap() - budget.reserved());
        } else if (admission == ConnectionBudget::Admission::refused) {
            metrics.count_refused_connection();
            if (!pressure.admit(refused)) return held_back();
            spdlog::warn("every one of the {} open connections has a request in flight: answering new ones 503",
                         budget.open());
        }
    }

    // Sweeps the limiters every second while they hold something back, so
    // that a flood's summary comes soon after its window ends, even when
    // nothing follows the flood.
    void held_back() {
        if (sweeping) return;
        sweeping = true;
        sweeper.expires_after(std::chrono::seconds(1));
        sweeper.async_wait([self = shared_from_this()](const beast::error_code& ec) {
            self->sweeping = false;
            if (ec) return;
            self->refusals.sweep();
            self->pressure.sweep();
            if (self->refusals.holding() || self->pressure.holding()) self->held_back();
        });
    }

    static constexpr std::string_view evicted = "idle connections closed to make room";
    static constexpr std::string_view refused = "new connections answered 503";

    ConnectionBudget budget;
    Metrics& metrics;
    LogLimiter refusals; // refused requests, per caller
    LogLimiter pressure; // the budget's evictions and 503s
    asio::steady_timer sweeper;
    bool sweeping = false;
    // Sessions alive, those answered 503 too: the shutdown waits for them.
    std::size_t sessions = 0;

    // Busy requests waiting to run again: woken at once when the work they
    // wait on may be done (Server::waker), besides their timer.
    bool wakeable = false;
    std::vector<std::function<void()>> waiters;
    void wake() {
        auto now = std::move(waiters);
        waiters.clear();
        for (auto& waiter : now) waiter();
    }
};

namespace {

// Request ids, unique across every server of the process (Request::id).
std::uint64_t next_request_id() {
    static std::atomic<std::uint64_t> last{0};
    return ++last;
}

// The daemon runs one io_context on one thread, so sockets name its executor
// type: the type-erased default costs a copy on every handler.
using Executor = asio::io_context::executor_type;
template <typename Protocol>
using Socket = typename Protocol::socket::template rebind_executor<Executor>::other;

// Boost 1.74's Beast has its own string_view.
std::string_view view(beast::string_view text) { return {text.data(), text.size()}; }

bhttp::response<bhttp::string_body> to_beast(const Response& response, unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> out{response.code, version};
    out.set(bhttp::field::server, "netd");
    out.set(bhttp::field::content_type, response.text.empty() ? "application/json" : response.text_type);
    out.set("X-Content-Type-Options", "nosniff");
    out.set(bhttp::field::cache_control, "no-store");
    if (!response.allow.empty()) out.set(bhttp::field::allow, response.allow);
    out.body() = response.payload();
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
}

// One connection: wait for a request, read it, answer it, and go round again
// while the client keeps the connection alive. Each async step is a do_/on_
// pair, as in Beast's advanced server.
//
// The same session serves TCP and Unix-socket connections. It is idle, and
// may be evicted to make room for another (see ConnectionBudget), while it
// waits for a request or reads one; from a whole request until its response
// is written, it is busy.
template <typename Protocol>
class Session : public std::enable_shared_from_this<Session<Protocol>>, public ConnectionBudget::Connection {
    using std::enable_shared_from_this<Session>::shared_from_this;
    using std::enable_shared_from_this<Session>::weak_from_this;
    static constexpr bool local = std::is_same_v<Protocol, asio::local::stream_protocol>;

public:
    Session(Socket<Protocol>&& socket, Api api, const ServerLimits& limits, std::shared_ptr<Server::Shared> shared)
        : stream_(std::move(socket)), api_(api), limits_(limits), shared_(std::move(shared)), caller_(identify()) {
        ++shared_->sessions;
    }

    ~Session() override {
        shared_->budget.leave(*this);
        --shared_->sessions;
    }

    void run() {
        asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_wait, shared_from_this()));
    }

    // Who has connections kept for them: the Unix socket's users, whom its
    // mode and group let in, and admins, who may change everything.
    bool privileged() const { return local || (caller_ && is_admin(*caller_, api_.policy.admin_group())); }

    // For a connection the budget has no room for, every other having a
    // request in flight: answer 503 and close. The budget logs it, once per
    // episode.
    void refuse() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            self->do_write(to_beast(unlogged_error_response(Error(
                                        ErrorCode::unavailable,
                                        "every connection has a request in flight; try again later")),
                                    11, false));
        });
    }

    // Made room for another: it had nothing in flight, so it just closes.
    void evict() override {
        evicted_ = true;
        grace_.cancel();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    // For shutdown: a request in flight, or already sent, is answered, then
    // the connection closes. A keep-alive connection with nothing sent
    // closes now; a new one has a moment to send the request its client
    // may be writing as we speak, since the client saw it accepted.
    void finish() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            self->finishing_ = true;
            if (!self->idle_ || self->request_waiting()) return;
            if (self->answered_ > 0) return self->stream_.cancel();
            self->await_first_request();
        });
    }

private:
    static constexpr std::chrono::milliseconds first_request_grace{1000};
    // Between two tries of a busy request: from 1 ms, doubling, to 50 ms.
    static constexpr std::chrono::milliseconds first_busy_pause{1};
    static constexpr std::chrono::milliseconds last_busy_pause{50};

    // Closes the connection unless its first request begins within the grace.
    void await_first_request() {
        grace_.expires_after(first_request_grace);
        grace_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
            if (!ec && self->idle_) self->stream_.cancel();
        });
    }

    bool request_waiting() {
        beast::error_code ec;
        return stream_.socket().available(ec) > 0 && !ec;
    }

    // An idle keep-alive connection may wait longer for its next request
    // than a request may take to arrive once it has begun.
    void do_wait() {
        if (evicted_) return;
        if (buffer_.size() > 0) return do_read(); // a pipelined request is already here
        if (finishing_ && answered_ > 0 && !request_waiting()) return do_close();
        idle_ = true;
        shared_->budget.idle(*this);
        stream_.expires_after(limits_.idle_timeout);
        stream_.async_read_some(buffer_.prepare(4096),
                                beast::bind_front_handler(&Session::on_wait, shared_from_this()));
        if (finishing_ && answered_ == 0) await_first_request();
    }

    void on_wait(beast::error_code ec, std::size_t bytes) {
        idle_ = false;
        if (evicted_) return;
        grace_.cancel();
        if (ec) return do_close(); // closed by the client, idle too long, or shutting down
        buffer_.commit(bytes);
        do_read();
    }

    void do_read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
        parser_->body_limit(limits_.body_bytes);
        stream_.expires_after(limits_.request_timeout);
        // Idle from the request's start: a slowloris, however it trickles,
        // grows older than the connections that wait.
        shared_->budget.idle(*this);
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (evicted_) return;
        shared_->budget.busy(*this);
        if (ec == bhttp::error::body_limit) {
            return reply_and_close(ErrorCode::too_large, "the request body is over " +
                                                             std::to_string(limits_.body_bytes) + " bytes");
        }
        if (ec == bhttp::error::header_limit) {
            return reply_and_close(ErrorCode::headers_too_large, "the request headers are over " +
                                                             std::to_string(limits_.header_bytes) + " bytes");
        }
        if (ec == beast::error::timeout) return do_close();
        if (ec == bhttp::error::end_of_stream) return do_close();
        if (ec) return reply_and_close(ErrorCode::invalid, "malformed HTTP request: " + ec.message());

        first_attempt_ = Clock::now();
        busy_pause_ = first_busy_pause;
        request_id_ = next_request_id();
        do_handle();
    }

    // Handles the request read, or again when it found the allocation lock
    // held (busy, nothing changed): a timer brings it back, so that the one
    // I/O thread serves everyone else meanwhile. The connection counts as in
    // flight all the while, so the budget never evicts it.
    void do_handle() {
        const auto& request = parser_->get();
        auto started = Clock::now();
        auto response = handle_request(api_.policy, api_.router,
                                       Incoming{request.method(), view(request.target()),
                                                view(request[bhttp::field::host]), view(request[bhttp::field::origin]),
                                                view(request["Sec-Fetch-Site"]),
                                                view(request[bhttp::field::authorization]),
                                                view(request[bhttp::field::content_type]), request.body(), local,
                                                request.count(bhttp::field::host),
                                                request.count(bhttp::field::transfer_encoding),
                                                view(request[bhttp::field::transfer_encoding]), caller_,
                                                request_id_});
        if (response.busy && Clock::now() - first_attempt_ + busy_pause_ < Server::busy_patience) {
            auto seq = ++busy_seq_;
            busy_.expires_after(busy_pause_);
            busy_pause_ = std::min<Clock::duration>(busy_pause_ * 2, last_busy_pause);
            busy_.async_wait([self = shared_from_this(), seq](const beast::error_code& ec) {
                if (self->busy_seq_ != seq) return; // woken already
                ++self->busy_seq_;                  // the waiter must not run it again
                if (ec) return self->do_close();
                self->do_handle();
            });
            if (shared_->wakeable) {
                shared_->waiters.push_back([weak = weak_from_this(), seq] {
                    auto self = weak.lock();
                    if (!self || self->busy_seq_ != seq) return;
                    ++self->busy_seq_;
                    self->busy_.cancel();
                    self->do_handle();
                });
            }
            return;
        }
        auto elapsed = std::chrono::duration<double>(Clock::now() - started).count();
        api_.metrics.observe(request.method(), response.route, response.code, elapsed);
        log_request(request, response.code, elapsed);
        do_write(to_beast(response, request.version(), request.keep_alive()));
    }

    // Every request is logged with its status, and a change with its caller
    // too, for the audit trail. Both come after the handler, so that a
    // refused request (4xx) can be left out: past a few a window, a caller's
    // refusals are only counted, then summarised (see LogLimiter), and a
    // flood cannot fill the disk. What the client chose is cut and escaped.
    void log_request(const bhttp::request<bhttp::string_body>& request, status code, double seconds) {
        if (bhttp::to_status_class(code) == bhttp::status_class::client_error &&
            !shared_->refusals.admit(caller_key())) {
            return shared_->held_back();
        }
        auto method = loggable(view(request.method_string()));
        auto target = loggable(view(request.target()));
        if (!read_only(request.method())) spdlog::info("{} {} from {}", method, target, peer());
        spdlog::info("{} {} {} {:.2f}ms", method, target, static_cast<unsigned>(code), seconds * 1000);
    }

    // The request could not be read whole, so the connection cannot be trusted
    // to be at a message boundary: answer, then close. Logged as refusals are.
    void reply_and_close(ErrorCode code, std::string message) {
        if (shared_->refusals.admit(caller_key())) {
            spdlog::warn("rejected a request from {}: {}", peer(), message);
        } else {
            shared_->held_back();
        }
        do_write(to_beast(error_response(Error(code, std::move(message))), 11, false));
    }

    void do_write(bhttp::response<bhttp::string_body>&& response) {
        response_ = std::move(response);
        stream_.expires_after(limits_.request_timeout);
        bhttp::async_write(stream_, response_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec) return do_close();
        ++answered_;
        if (!response_.keep_alive() || finishing_) {
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            stream_.expires_after(std::chrono::seconds(1));
            return do_drain();
        }
        do_wait();
    }

    // Closing a socket with unread input makes the kernel send a reset, which
    // can destroy the response before the client reads it (a client still
    // sending a body that was too large, say). So half-close, then read and
    // discard until the client closes too, for a second at most.
    void do_drain() {
        buffer_.clear();
        shared_->budget.idle(*this); // its answer is out: it may go to make room
        stream_.async_read_some(buffer_.prepare(64 * 1024),
                                beast::bind_front_handler(&Session::on_drain, shared_from_this()));
    }

    void on_drain(beast::error_code ec, std::size_t) {
        if (ec) return do_close();
        do_drain();
    }

    void do_close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    // Asks the kernel who is at the other end, once for the connection's
    // life: the peer of a connected socket cannot change.
    std::optional<Caller> identify() {
        auto fd = stream_.socket().native_handle();
        std::optional<platform::Peer> found;
        if constexpr (local) {
            found = platform::unix_peer(fd);
        } else {
            found = platform::tcp_peer(fd);
        }
        if (!found) return std::nullopt;
        // Root is an admin whatever its groups, so it needs no lookup.
        return Caller{found->uid, found->uid == 0 ? std::vector<std::uint32_t>{} : platform::groups_of(found->uid),
                      found->pid};
    }

    // Whose refusals are counted together: "uid 1000", or the address of
    // an unidentified caller (its port changes with every connection).
    std::string caller_key() {
        if (caller_) return "uid " + std::to_string(caller_->uid);
        if constexpr (local) {
            return "an unidentified local caller";
        } else {
            beast::error_code ec;
            auto endpoint = stream_.socket().remote_endpoint(ec);
            return "an unidentified caller at " + (ec ? "an unknown address" : endpoint.address().to_string());
        }
    }

    // For the log: "uid 1000 pid 42", "uid 1000 at 127.0.0.1:41234", or
    // "an unidentified caller at 10.0.0.2:41234".
    std::string peer() {
        if constexpr (local) {
            return caller_ ? describe(caller_) : "an unidentified local caller";
        } else {
            beast::error_code ec;
            auto endpoint = stream_.socket().remote_endpoint(ec);
            return describe(caller_) + " at " +
                   (ec ? "an unknown address" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port()));
        }
    }

    beast::basic_stream<Protocol, Executor> stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> response_;
    Api api_;
    ServerLimits limits_;
    std::shared_ptr<Server::Shared> shared_;
    std::optional<Caller> caller_;
    asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> grace_{stream_.get_executor()};
    asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> busy_{stream_.get_executor()};
    Clock::time_point first_attempt_{};
    Clock::duration busy_pause_{};
    std::uint64_t busy_seq_ = 0;
    std::uint64_t request_id_ = 0;
    std::size_t answered_ = 0;
    bool idle_ = false;
    bool finishing_ = false;
    bool evicted_ = false;
};

// Accepts connections on one acceptor and runs a Session for each.
template <typename Protocol>
class Listener : public std::enable_shared_from_this<Listener<Protocol>>, public Server::Endpoint {
    using std::enable_shared_from_this<Listener>::shared_from_this;

public:
    Listener(asio::io_context& io, typename Protocol::acceptor acceptor, Api api, ServerLimits limits,
             std::shared_ptr<Server::Shared> shared)
        : io_(io), acceptor_(std::move(acceptor)), api_(api), limits_(limits), shared_(std::move(shared)) {}

    void start() override { do_accept(); }

    // Connections that completed their handshake but wait in the kernel's
    // backlog were accepted as far as their clients know: closing the
    // acceptor would reset them. So they are taken in first, and answered
    // with the rest.
    void stop() override {
        if (stopped_) return;
        stopped_ = true;
        backoff_.cancel();
        beast::error_code ec;
        acceptor_.non_blocking(true, ec);
        while (!ec) {
            Socket<Protocol> socket(io_.get_executor());
            acceptor_.accept(socket, ec);
            if (!ec) welcome(std::move(socket));
        }
        acceptor_.close(ec);
        for (auto& weak : sessions_) {
            if (auto session = weak.lock()) session->finish();
        }
    }

private:
    void do_accept() {
        if (stopped_) return;
        acceptor_.async_accept(io_.get_executor(),
                               beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, Socket<Protocol> socket) {
        if (ec == asio::error::operation_aborted || stopped_) {
            if (!ec) welcome(std::move(socket)); // accepted just before the stop
            return;
        }
        if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
            ec.value() == ENFILE || ec.value() == ENOMEM) {
            return pause(ec);
        }
        if (ec) {
            spdlog::warn("accept failed: {}", ec.message());
        } else {
            if (out_of_fds_) {
                spdlog::info("accepting connections again");
                out_of_fds_ = false;
                pause_for_ = first_pause;
            }
            welcome(std::move(socket));
        }
        do_accept();
    }

    void welcome(Socket<Protocol>&& socket) {
        if constexpr (std::is_same_v<Protocol, tcp>) {
            // Requests and responses are small; waiting to coalesce them only adds latency.
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
        }
        // The caller is identified first: whether it is privileged decides
        // its share of the connections.
        auto session = std::make_shared<Session<Protocol>>(std::move(socket), api_, limits_, shared_);
        std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
        sessions_.push_back(session);
        auto admission = shared_->budget.admit(*session, session->privileged());
        shared_->note(admission);
        admission == ConnectionBudget::Admission::refused ? session->refuse() : session->run();
        if (stopped_) session->finish();
    }

    // Out of descriptors, accept fails at once until one is freed, and
    // retrying at once spins the CPU and fills the log. So wait, longer each
    // time up to a second, and log once per episode.
    void pause(const beast::error_code& ec) {
        if (!out_of_fds_) {
            spdlog::warn("accept failed: {}; pausing new connections until descriptors free up", ec.message());
            out_of_fds_ = true;
        }
        backoff_.expires_after(pause_for_);
        pause_for_ = std::min(pause_for_ * 2, longest_pause);
        backoff_.async_wait([self = shared_from_this()](const beast::error_code& waited) {
            if (!waited) self->do_accept();
        });
    }

    static constexpr std::chrono::milliseconds first_pause{50}, longest_pause{1000};

    asio::io_context& io_;
    typename Protocol::acceptor acceptor_;
    Api api_;
    ServerLimits limits_;
    std::shared_ptr<Server::Shared> shared_;
    std::vector<std::weak_ptr<Session<Protocol>>> sessions_; // to finish them at shutdown
    asio::steady_timer backoff_{io_};
    std::chrono::milliseconds pause_for_ = first_pause;
    bool out_of_fds_ = false; // in an episode of EMFILE/ENFILE, logged once
    bool stopped_ = false;
};

} // namespace

Server::Server(asio::io_context& io, Api api, ServerLimits limits)
    : io_(io), api_(api), limits_(limits), shared_(std::make_shared<Shared>(io, limits_, api_.metrics)) {}

// What was held back is summarised before the daemon exits.
Server::~Server() {
    stop();
    shared_->refusals.sweep(true);
    shared_->pressure.sweep(true);
}

void Server::serve(tcp::acceptor acceptor) {
    endpoints_.push_back(std::make_shared<Listener<tcp>>(io_, std::move(acceptor), api_, limits_, shared_));
}

void Server::serve(asio::local::stream_protocol::acceptor acceptor) {
    endpoints_.push_back(
        std::make_shared<Listener<asio::local::stream_protocol>>(io_, std::move(acceptor), api_, limits_, shared_));
}

void Server::start() {
    for (auto& endpoint : endpoints_) endpoint->start();
}

void Server::stop() {
    for (auto& endpoint : endpoints_) endpoint->stop();
}

std::size_t Server::open_connections() const { return shared_->sessions; }

std::function<void()> Server::waker() {
    shared_->wakeable = true;
    return [&io = io_, weak = std::weak_ptr<Shared>(shared_)] {
        asio::post(io, [weak] {
            if (auto shared = weak.lock()) shared->wake();
        });
    };
}

tcp::acceptor listen(asio::io_context& io, const tcp::endpoint& endpoint) {
    tcp::acceptor acceptor(io);
    beast::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        fail(ErrorCode::unavailable, "cannot listen on " + endpoint.address().to_string() + ":" +
                                         std::to_string(endpoint.port()) + ": " + ec.message());
    }
    return acceptor;
}

asio::local::stream_protocol::acceptor listen_unix(asio::io_context& io, const std::string& path,
                                                   const std::string& group) {
    namespace fs = std::filesystem;
    std::error_code ignored;
    // A socket file left by an earlier run would make bind fail; anything
    // else at that path is not ours to remove.
    if (fs::is_socket(fs::symlink_status(path, ignored))) fs::remove(path, ignored);
    asio::local::stream_protocol::acceptor acceptor(io);
    beast::error_code ec;
    acceptor.open(asio::local::stream_protocol(), ec);
    if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail(ErrorCode::unavailable, "cannot listen on " + path + ": " + ec.message());
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::group_write);
    if (!group.empty() && ::chown(path.c_str(), static_cast<uid_t>(-1), platform::group_id(group)) != 0) {
        fail(ErrorCode::unavailable, "cannot give " + path + " to group " + group + ": " + std::strerror(errno));
    }
    return acceptor;
}

tcp::endpoint parse_endpoint(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size()) {
        fail(ErrorCode::invalid, "listen address \"" + text + "\" must be HOST:PORT, e.g. 127.0.0.1:3030");
    }
    auto host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned long port = 0;
    try {
        std::size_t used = 0;
        port = std::stoul(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
        fail(ErrorCode::invalid, "listen address \"" + text + "\" has no valid port (0 to 65535)");
    }
    if (host == "localhost") host = "127.0.0.1";
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) fail(ErrorCode::invalid, "listen address \"" + text + "\" must name a literal IP address");
    return {address, static_cast<unsigned short>(port)};
}

} // namespace netd::http
