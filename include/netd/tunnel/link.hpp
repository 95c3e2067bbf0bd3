#pragma once

// First: Boost 1.74's asio/awaitable.hpp uses std::exchange without it.
#include <utility>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "netd/tunnel_wire.hpp"

// One peer's WebSocket, once the handshake and the hello are done: a batch
// of records goes out as one binary message while the next batch gathers,
// and every message in is cut into its records (tunnel_wire.hpp). The same
// for the server's side and the client's, in the clear or over TLS.
namespace netd::tunnel {

struct LinkEvents {
    std::function<void(const std::uint8_t* record, std::size_t size)> on_record;
    std::function<void()> on_drained;
    std::function<void(const std::string& why)> on_closed;
};

class Link {
public:
    virtual ~Link() = default;
    // Starts reading; each event comes on the I/O thread.
    virtual void start(LinkEvents events) = 0;
    // Queues one record (an offload header and a packet) for the peer.
    virtual void send(const std::uint8_t* record, std::size_t size) = 0;
    // Whether the queue is full: the caller stops reading its TUN until
    // on_drained, which keeps TCP inside the tunnel from seeing losses
    // where a full queue would otherwise drop.
    virtual bool congested() const = 0;
    // Ends it at once; on_closed follows, once.
    virtual void close() = 0;
};

// Past this many queued bytes a link is congested; below half, drained.
inline constexpr std::size_t link_high_water = 1 << 20;
// No message in is larger than a full queue plus one record.
inline constexpr std::size_t link_max_message = 2 * link_high_water + 2 * max_record;

// How often a link checks that its peer is alive: a ping after a quiet
// period, and the link closed after two quiet periods in a row, so that a
// peer gone without a word (a host down, a cable out) is noticed within
// 20 s and the client reconnects. This is the link's own timer, armed once
// a period: Beast's idle timeout re-arms a timer at every read, a syscall
// per packet that showed in the latency.
inline constexpr std::chrono::seconds link_heartbeat{10};

// The options both sides set on their WebSocket: a bound on the closing
// handshake (the opening one is bounded by the caller), no fragmenting of
// messages, and a write buffer large enough that a client's masking does
// not cut a batch into small writes.
template <class WebSocket>
void tune(WebSocket& ws) {
    namespace websocket = boost::beast::websocket;
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(10);
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    ws.set_option(timeout);
    ws.auto_fragment(false);
    ws.write_buffer_bytes(256 * 1024);
    ws.read_message_max(link_max_message);
}

template <class WebSocket>
class WsLink : public Link, public std::enable_shared_from_this<WsLink<WebSocket>> {
public:
    explicit WsLink(WebSocket ws) : ws_(std::move(ws)), heartbeat_(ws_.get_executor()) { ws_.binary(true); }

    void start(LinkEvents events) override {
        events_ = std::move(events);
        // A pong (or a ping) is a sign of life too.
        ws_.control_callback([this](boost::beast::websocket::frame_type, boost::beast::string_view) { heard_ = true; });
        read();
        beat();
    }

    void send(const std::uint8_t* record, std::size_t size) override {
        if (closed_) return;
        append_record(pending_, record, size);
        if (!writing_) write();
    }

    bool congested() const override { return pending_.size() >= link_high_water; }

    void close() override {
        if (closed_) return;
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(ws_).close(ignored);
        finish("closed");
    }

private:
    void read() {
        ws_.async_read(in_, [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void beat() {
        heartbeat_.expires_after(link_heartbeat);
        heartbeat_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->closed_) return;
            if (self->heard_) {
                self->heard_ = false;
                self->quiet_ = 0;
            } else if (++self->quiet_ >= 2) {
                return self->fail_with("the peer went silent");
            } else if (self->writing_) {
                self->ping_due_ = true; // one write at a time: after this one
            } else {
                self->ping();
            }
            self->beat();
        });
    }

    void on_read(const boost::system::error_code& ec) {
        if (closed_) return;
        heard_ = true;
        if (ec) return fail(ec);
        if (!ws_.got_binary()) return fail_with("the peer sent text where packets belong");
        auto data = static_cast<const std::uint8_t*>(in_.data().data());
        bool whole = for_each_record(data, in_.size(), [&](const std::uint8_t* record, std::size_t size) {
            if (!closed_) events_.on_record(record, size);
        });
        in_.consume(in_.size());
        if (closed_) return;
        if (!whole) return fail_with("the peer sent a malformed message");
        read();
    }

    // A ping takes its turn among the writes.
    void ping() {
        writing_ = true;
        ws_.async_ping({}, [self = this->shared_from_this()](const boost::system::error_code& ec) {
            self->writing_ = false;
            if (self->closed_) return;
            if (ec) return self->fail(ec);
            if (!self->pending_.empty()) self->write();
        });
    }

    void write() {
        writing_ = true;
        bool was_congested = congested();
        out_.swap(pending_);
        pending_.clear();
        ws_.async_write(boost::asio::buffer(out_), [self = this->shared_from_this(), was_congested](
                                                        const boost::system::error_code& ec, std::size_t) {
            self->writing_ = false;
            if (self->closed_) return;
            if (ec) return self->fail(ec);
            if (self->ping_due_) {
                self->ping_due_ = false;
                self->ping();
            } else if (!self->pending_.empty()) {
                self->write();
            }
            if (was_congested && self->pending_.size() < link_high_water / 2) self->events_.on_drained();
        });
    }

    void fail(const boost::system::error_code& ec) {
        fail_with(ec == boost::beast::websocket::error::closed ? "the peer closed it" : ec.message());
    }

    void fail_with(const std::string& why) {
        if (closed_) return;
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(ws_).close(ignored);
        finish(why);
    }

    void finish(const std::string& why) {
        closed_ = true;
        heartbeat_.cancel();
        pending_.clear();
        if (events_.on_closed) {
            auto on_closed = std::move(events_.on_closed);
            on_closed(why);
        }
    }

    WebSocket ws_;
    boost::asio::steady_timer heartbeat_;
    bool heard_ = false; // since the last beat
    bool ping_due_ = false;
    int quiet_ = 0;      // beats in a row with nothing heard
    LinkEvents events_;
    boost::beast::flat_buffer in_;
    std::string pending_, out_;
    bool writing_ = false, closed_ = false;
};

} // namespace netd::tunnel
