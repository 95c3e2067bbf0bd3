#include "netd/tunnel/raw_link.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "netd/tunnel_wire.hpp"

namespace netd::tunnel {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Reads in one turn of the loop before others get theirs.
constexpr int read_turns = 64;
// What the input buffer starts at; it grows to the largest frame seen.
constexpr std::size_t first_room = 256 * 1024;

#ifdef MSG_NOSIGNAL
constexpr int send_flags = MSG_NOSIGNAL;
#else
constexpr int send_flags = 0; // macOS has no such flag: netd-tunnel ignores SIGPIPE (program.cpp)
#endif

std::string tls_error(const char* what) {
    auto code = ERR_get_error();
    char text[256] = "";
    if (code) ERR_error_string_n(code, text, sizeof text);
    return std::string(what) + (code ? std::string(": ") + text : "");
}

// A recv or a send on the non-blocking socket, again after a signal.
template <typename Call>
ssize_t retried(Call call) {
    for (;;) {
        auto n = call();
        if (n >= 0 || errno != EINTR) return n;
    }
}

// The BIO under a taken-over TLS session: it reads what RawLink received
// (TlsInput), and sends straight to the socket.
TlsInput& input_of(BIO* bio) { return *static_cast<TlsInput*>(BIO_get_data(bio)); }

int bio_write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    auto n = retried([&] { return ::send(input_of(bio).fd, data, static_cast<std::size_t>(size), send_flags); });
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(bio);
    return static_cast<int>(n); // with errno, which SSL_ERROR_SYSCALL reads
}

int bio_read(BIO* bio, char* into, int size) {
    BIO_clear_retry_flags(bio);
    auto& input = input_of(bio);
    if (input.begin == input.end) {
        BIO_set_retry_read(bio); // SSL_ERROR_WANT_READ: RawLink receives more
        return -1;
    }
    auto n = std::min(input.end - input.begin, static_cast<std::size_t>(size));
    std::memcpy(into, input.bytes.data() + input.begin, n);
    input.begin += n;
    if (input.begin == input.end) input.begin = input.end = 0;
    return static_cast<int>(n);
}

long bio_ctrl(BIO* bio, int command, long, void*) {
    switch (command) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return static_cast<long>(input_of(bio).end - input_of(bio).begin);
    default:
        return 0;
    }
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

const BIO_METHOD* link_bio() {
    static BIO_METHOD* method = [] {
        auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "netd-tunnel link");
        if (m) {
            BIO_meth_set_write(m, bio_write);
            BIO_meth_set_read(m, bio_read);
            BIO_meth_set_ctrl(m, bio_ctrl);
            BIO_meth_set_create(m, bio_create);
        }
        return m;
    }();
    return method;
}

} // namespace

Transport take_over(boost::beast::websocket::stream<boost::beast::ssl_stream<tcp::socket>>& ws) {
    auto& tls = ws.next_layer();
    SSL* ssl = tls.native_handle();
    if (SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) {
        throw std::runtime_error("the peer sent before its turn");
    }
    auto input = std::make_unique<TlsInput>();
    input->bytes.resize(first_room);
    input->fd = tls.next_layer().native_handle();
    BIO* bio = link_bio() ? BIO_new(link_bio()) : nullptr;
    if (!bio) throw std::runtime_error(tls_error("cannot take the TLS session over"));
    BIO_set_data(bio, input.get());
    SSL_up_ref(ssl); // Asio's stream frees its reference when it goes
    Transport transport(std::move(tls.next_layer()), ssl);
    transport.input = std::move(input);
    SSL_set_bio(ssl, bio, bio); // frees Asio's half of the memory pair
    SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Asio's engine sets it: OpenSSL then frees its record buffers whenever
    // they empty, which on a tunnel is after every packet, and allocates
    // them again (16 KiB and more, from a cold heap) for the next.
    SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    // All the records that came in one read of the BIO, not a header, then
    // a body.
    SSL_set_read_ahead(ssl, 1);
    return transport;
}

RawLink::RawLink(Transport transport, Role role)
    : transport_(std::move(transport)), role_(role), heartbeat_(transport_.socket.get_executor()),
      stall_(transport_.socket.get_executor()),
      in_(first_room), reader_(role == Role::server, link_max_message), holding_(role == Role::server) {
    boost::system::error_code ignored;
    transport_.socket.non_blocking(true, ignored);
    // Masks keep proxies from reading a client's frames as anything but
    // frames; a fresh seed per link, then a cheap generator per message
    // (RAND_bytes each time cost microseconds from a cold cache).
    RAND_bytes(reinterpret_cast<unsigned char*>(&mask_state_), sizeof mask_state_);
    mask_state_ |= 1;
}

frames::MaskKey RawLink::next_key() {
    mask_state_ ^= mask_state_ >> 12;
    mask_state_ ^= mask_state_ << 25;
    mask_state_ ^= mask_state_ >> 27;
    auto value = mask_state_ * 0x2545F4914F6CDD1DULL;
    frames::MaskKey key;
    std::memcpy(key.data(), &value, key.size());
    return key;
}

RawLink::~RawLink() = default;

void RawLink::start(LinkEvents events) {
    events_ = std::move(events);
    if (role_ == Role::client) {
        // The empty message that lets the server send (see the header).
        queue_control(frames::Opcode::binary, nullptr, 0);
        flush();
    }
    pump_in();
    beat();
}

bool RawLink::send(const std::uint8_t* record, std::size_t size) {
    if (closed_ || holding_) return false;
    // Room for the frame's header, written in front once the batch is whole.
    if (pending_.empty()) pending_.resize(frames::max_header);
    append_record(pending_, record, size);
    if (congested() && !drain_owed_) {
        drain_owed_ = true;
        watch_stall(written_);
    }
    return true;
}

bool RawLink::congested() const { return pending_.size() + (out_.size() - sent_) >= link_high_water; }

void RawLink::close() { finish("closed"); }

RawLink::Io RawLink::errno_outcome(Io again) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return again;
    why_ = std::strerror(errno);
    return Io::failed;
}

RawLink::Io RawLink::decrypt(std::size_t& got) {
    if (have_ == in_.size()) in_.resize(in_.size() * 2); // room for what comes out, as in recv_room
    ERR_clear_error();
    errno = 0; // SSL_ERROR_SYSCALL reads it
    auto room = std::min<std::size_t>(in_.size() - have_, INT_MAX);
    return tls_outcome(SSL_read(transport_.ssl, in_.data() + have_, static_cast<int>(room)), got, "TLS read");
}

RawLink::Io RawLink::write_some(const std::uint8_t* from, std::size_t size, std::size_t& put) {
    if (!transport_.ssl) {
        auto n = retried([&] { return ::send(transport_.socket.native_handle(), from, size, send_flags); });
        if (n < 0) return errno_outcome(Io::again_write);
        put = static_cast<std::size_t>(n);
        return Io::done;
    }
    ERR_clear_error();
    errno = 0; // SSL_ERROR_SYSCALL reads it
    return tls_outcome(SSL_write(transport_.ssl, from, static_cast<int>(std::min<std::size_t>(size, INT_MAX))), put,
                       "TLS write");
}

RawLink::Io RawLink::tls_outcome(int result, std::size_t& count, const char* what) {
    if (result > 0) {
        count = static_cast<std::size_t>(result);
        return Io::done;
    }
    switch (SSL_get_error(transport_.ssl, result)) {
    case SSL_ERROR_WANT_READ:
        return Io::again_read;
    case SSL_ERROR_WANT_WRITE:
        return Io::again_write;
    case SSL_ERROR_ZERO_RETURN:
        why_ = "the peer closed TLS";
        return Io::failed;
    case SSL_ERROR_SYSCALL:
        why_ = errno ? std::strerror(errno) : "the peer closed the connection";
        return Io::failed;
    default:
        why_ = tls_error(what);
        return Io::failed;
    }
}

void RawLink::pump_in() {
    for (int turn = 0; turn < read_turns; ++turn) {
        if (closed_) return;
        // What TLS can make of the bytes it was given, before more; with
        // none given and none held, SSL_read would only ask for more.
        if (transport_.ssl && (transport_.input->begin < transport_.input->end || SSL_has_pending(transport_.ssl))) {
            std::size_t got = 0;
            auto io = decrypt(got);
            if (io == Io::failed) return finish(why_);
            if (io == Io::again_write) return wait_writable(true); // SSL_read has to write first (rare)
            if (io == Io::done) {
                have_ += got;
                take_frames();
                continue;
            }
        }
        // A stream socket that gave less than asked for is empty: the read
        // armed next finds that out, rather than one more recv here.
        if (socket_empty_) return wait_readable();
        // Not a structured binding: before C++20 no lambda may capture one
        // (Apple's clang refuses, in wait_readable), so neither here.
        auto where = recv_room();
        auto* into = where.first;
        auto room = where.second;
        auto n = retried([&] { return ::recv(transport_.socket.native_handle(), into, room, 0); });
        if (n == 0) return finish("the peer closed the connection");
        if (n < 0) {
            if (errno_outcome(Io::again_read) == Io::failed) return finish(why_);
            return wait_readable();
        }
        received(static_cast<std::size_t>(n), room);
    }
    // More may be there, in the socket or decrypted inside TLS where no
    // wait would see it: after the others' turn.
    asio::post(transport_.socket.get_executor(), [self = shared_from_this()] { self->pump_in(); });
}

std::pair<std::uint8_t*, std::size_t> RawLink::recv_room() {
    if (!transport_.ssl) {
        if (have_ == in_.size()) in_.resize(in_.size() * 2); // an empty buffer would give 0, as a closed socket does
        return {in_.data() + have_, in_.size() - have_};
    }
    // TLS asks for more only once it has read all it was given, and the BIO
    // rewinds the input when it empties: so this is the whole buffer.
    auto& input = *transport_.input;
    if (input.end == input.bytes.size()) input.bytes.resize(input.bytes.size() * 2); // as in the clear
    return {input.bytes.data() + input.end, input.bytes.size() - input.end};
}

void RawLink::received(std::size_t got, std::size_t room) {
    socket_empty_ = got < room;
    heard_ = true;
    if (!transport_.ssl) {
        have_ += got;
        take_frames();
        return;
    }
    transport_.input->end += got;
    // A write that TLS could not make before it read (rare in TLS 1.3).
    if (write_needs_read_) {
        write_needs_read_ = false;
        pump_out();
    }
}

void RawLink::wait_readable() {
    if (reading_wait_ || closed_) return;
    reading_wait_ = true;
    // A recv that the reactor makes itself, at once (it finds nothing: the
    // last read did not either) and again when the socket is ready. A bare
    // wait would cost an epoll_ctl each time it is armed, and once the socket
    // has waited to write, an extra wake-up for EPOLLOUT each time too.
    auto where = recv_room();
    auto* into = where.first;
    auto room = where.second;
    transport_.socket.async_receive(
        asio::buffer(into, room), [self = shared_from_this(), room](const boost::system::error_code& ec, std::size_t got) {
            self->reading_wait_ = false;
            if (self->closed_ || ec == asio::error::operation_aborted) return;
            if (ec) return self->finish(ec == asio::error::eof ? "the peer closed the connection" : ec.message());
            self->received(got, room);
            self->pump_in();
        });
}

bool RawLink::take_frames() {
    auto outcome = reader_.read(in_.data(), have_, [this](frames::Opcode opcode, const std::uint8_t* data,
                                                          std::size_t size) { return on_message(opcode, data, size); });
    if (outcome.stopped) return false;
    if (!outcome.error.empty()) {
        finish("the peer broke the WebSocket framing: " + outcome.error);
        return false;
    }
    if (outcome.consumed) {
        std::memmove(in_.data(), in_.data() + outcome.consumed, have_ - outcome.consumed);
        have_ -= outcome.consumed;
    }
    if (outcome.need > in_.size()) in_.resize(outcome.need); // a frame larger than any before
    return true;
}

bool RawLink::on_message(frames::Opcode opcode, const std::uint8_t* data, std::size_t size) {
    using frames::Opcode;
    holding_ = false;
    switch (opcode) {
    case Opcode::ping:
        // A pong for the latest ping is enough (RFC 6455, 5.5.3), so one at
        // most waits for flush: a peer that pings and never reads cannot
        // make the queue grow.
        if (pong_waiting_) return true;
        queue_control(Opcode::pong, data, size);
        pong_waiting_ = true;
        flush();
        return true;
    case Opcode::pong:
        return true;
    case Opcode::close:
        // Answered with the same code, as the closing handshake asks.
        queue_control(Opcode::close, data, std::min<std::size_t>(size, 2));
        flush();
        finish("the peer closed it");
        return false;
    case Opcode::binary:
        break;
    default:
        finish("the peer sent text where packets belong");
        return false;
    }
    bool whole = for_each_record(data, size, [&](const std::uint8_t* record, std::size_t length) {
        if (!closed_) events_.on_record(record, length);
    });
    if (closed_) return false;
    if (!whole) {
        finish("the peer sent a malformed message");
        return false;
    }
    return true;
}

void RawLink::queue_control(frames::Opcode opcode, const std::uint8_t* payload, std::size_t size) {
    std::uint8_t header[frames::max_header];
    bool masked = role_ == Role::client;
    frames::MaskKey key = masked ? next_key() : frames::MaskKey{};
    auto n = frames::write_header(header, opcode, size, masked, key);
    auto at = control_.size();
    control_.append(reinterpret_cast<const char*>(header), n);
    if (size) control_.append(reinterpret_cast<const char*>(payload), size);
    if (masked) frames::apply_mask(reinterpret_cast<std::uint8_t*>(control_.data()) + at + n, size, key);
}

void RawLink::flush() {
    if (closed_ || writing_wait_ || sent_ < out_.size()) return; // pump_out comes back here
    out_.clear();
    sent_ = 0;
    out_.swap(control_);
    pong_waiting_ = false;
    if (pending_.size() > frames::max_header) {
        auto size = pending_.size() - frames::max_header;
        auto* body = reinterpret_cast<std::uint8_t*>(pending_.data()) + frames::max_header;
        std::uint8_t header[frames::max_header];
        bool masked = role_ == Role::client;
        frames::MaskKey key = masked ? next_key() : frames::MaskKey{};
        auto n = frames::write_header(header, frames::Opcode::binary, size, masked, key);
        if (masked) frames::apply_mask(body, size, key);
        std::memcpy(body - n, header, n);
        if (out_.empty()) {
            out_.swap(pending_); // no copy: the header sits just before the records
            sent_ = frames::max_header - n;
        } else {
            out_.append(reinterpret_cast<const char*>(body - n), n + size);
        }
        pending_.clear();
    }
    pump_out();
}

void RawLink::pump_out() {
    while (sent_ < out_.size()) {
        if (closed_) return;
        std::size_t put = 0;
        auto io = write_some(reinterpret_cast<const std::uint8_t*>(out_.data()) + sent_, out_.size() - sent_, put);
        if (io == Io::failed) return finish(why_);
        if (io == Io::again_read) {
            write_needs_read_ = true; // received() comes back here
            return wait_readable();
        }
        if (io != Io::done) return wait_writable(false);
        sent_ += put;
        written_ += put;
    }
    out_.clear();
    sent_ = 0;
    if (drain_owed_ && pending_.size() < link_high_water / 2) {
        drain_owed_ = false;
        events_.on_drained();
    }
    // What gathered while this write waited on the socket.
    if (!closed_ && (!control_.empty() || !pending_.empty())) flush();
}

void RawLink::wait_writable(bool for_reading) {
    bool& armed = for_reading ? reading_wait_ : writing_wait_;
    if (armed || closed_) return;
    armed = true;
    transport_.socket.async_wait(tcp::socket::wait_write, [self = shared_from_this(), for_reading](
                                                const boost::system::error_code& ec) {
        (for_reading ? self->reading_wait_ : self->writing_wait_) = false;
        if (ec || self->closed_) return;
        if (for_reading) {
            self->pump_in();
        } else {
            self->pump_out();
        }
    });
}

void RawLink::beat() {
    heartbeat_.expires_after(link_heartbeat);
    heartbeat_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->closed_) return;
        if (self->heard_) {
            self->heard_ = false;
            self->quiet_ = 0;
        } else if (++self->quiet_ >= 2) {
            return self->finish("the peer went silent");
        } else if (!self->holding_) {
            self->queue_control(frames::Opcode::ping, nullptr, 0);
            self->flush();
        }
        self->beat();
    });
}

void RawLink::watch_stall(std::uint64_t written) {
    stall_.expires_after(link_stall);
    stall_.async_wait([self = shared_from_this(), written](const boost::system::error_code& ec) {
        if (ec || self->closed_ || !self->drain_owed_) return; // drained meanwhile
        if (self->written_ == written) {
            return self->finish("the peer took nothing of a full queue for " +
                                std::to_string(link_stall.count()) + " s: it stopped reading");
        }
        self->watch_stall(self->written_);
    });
}

void RawLink::finish(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    heartbeat_.cancel();
    stall_.cancel();
    boost::system::error_code ignored;
    transport_.socket.close(ignored); // ends the waits
    pending_.clear();
    control_.clear();
    if (events_.on_closed) {
        auto on_closed = std::move(events_.on_closed);
        on_closed(why);
    }
}

} // namespace netd::tunnel
