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

// The options both sides set on their WebSocket: a ping when idle, so that
// a peer gone without a word (a host down, a cable out) is noticed within
// `idle` and the client reconnects; no fragmenting of messages, and a
// write buffer large enough that a client's masking does not cut a batch
// into small writes.
template <class WebSocket>
void tune(WebSocket& ws, std::chrono::seconds idle = std::chrono::seconds(20)) {
    namespace websocket = boost::beast::websocket;
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(10);
    timeout.idle_timeout = idle;
    timeout.keep_alive_pings = true;
    ws.set_option(timeout);
    ws.auto_fragment(false);
    ws.write_buffer_bytes(256 * 1024);
    ws.read_message_max(link_max_message);
}

template <class WebSocket>
class WsLink : public Link, public std::enable_shared_from_this<WsLink<WebSocket>> {
public:
    explicit WsLink(WebSocket ws) : ws_(std::move(ws)) { ws_.binary(true); }

    void start(LinkEvents events) override {
        events_ = std::move(events);
        read();
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

    void on_read(const boost::system::error_code& ec) {
        if (closed_) return;
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
            if (!self->pending_.empty()) self->write();
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
        pending_.clear();
        if (events_.on_closed) {
            auto on_closed = std::move(events_.on_closed);
            on_closed(why);
        }
    }

    WebSocket ws_;
    LinkEvents events_;
    boost::beast::flat_buffer in_;
    std::string pending_, out_;
    bool writing_ = false, closed_ = false;
};

} // namespace netd::tunnel
