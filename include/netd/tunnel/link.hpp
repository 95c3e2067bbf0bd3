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
// of records goes out as one binary message, and every message in is cut
// into its records (tunnel_wire.hpp). The same for the server's side and
// the client's, in the clear or over TLS. Beast does the handshakes; the
// link then takes the socket (and the TLS session) over and frames by hand
// (raw_link.hpp).
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
    // Queues one record (an offload header and a packet) for the peer;
    // false when the link takes none (closed, or its peer not yet ready).
    virtual bool send(const std::uint8_t* record, std::size_t size) = 0;
    // Sends what send() queued, as one message: after each burst of reads.
    virtual void flush() = 0;
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
// a period, not one re-armed at every read (a syscall per packet).
inline constexpr std::chrono::seconds link_heartbeat{10};

// A link whose queue is full and whose peer takes not one byte of it for
// this long is cut off. A congested link stops its side's TUN (see
// congested), and on a server that holds up every client: a peer that
// stopped reading, and keeps the link alive with pings, must not hold them
// up for longer than this. A peer that reads at all, however slowly, stays.
inline constexpr std::chrono::seconds link_stall{5};

// The options both sides set on their WebSocket for the handshake and the
// hello: a bound on a closing handshake (the opening one is bounded by the
// caller), no fragmenting of messages, no message over the links' limit.
template <class WebSocket>
void tune(WebSocket& ws) {
    namespace websocket = boost::beast::websocket;
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(10);
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    ws.set_option(timeout);
    ws.auto_fragment(false);
    ws.read_message_max(link_max_message);
}

} // namespace netd::tunnel
