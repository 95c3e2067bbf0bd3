#pragma once

// First: Boost 1.74's asio/awaitable.hpp uses std::exchange without it.
#include <utility>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <openssl/ssl.h>

#include "netd/tunnel/link.hpp"
#include "netd/tunnel_frames.hpp"

// A link that does its own WebSocket framing (tunnel_frames.hpp) on the
// socket Beast handed over. It receives with a recv that Asio's reactor
// makes when the socket is ready (then, through TLS, SSL_read decrypts what
// came, see TlsInput), sends with send or SSL_write, and sends what a TUN
// burst queued as one message at the end of the burst (flush). On an idle
// tunnel each packet's pass through a process starts from cold caches, so
// each syscall and each layer counts: Beast's composed operations made
// that pass cost a sixth more CPU (README: latency).
//
// A client's link sends an empty message first, and a server's link sends
// nothing until it has heard from its client: so the client, which reads
// the hello through Beast, never has the server's packets read ahead into
// Beast's buffer when it takes the socket over.
namespace netd::tunnel {

// What a taken-over TLS session reads: the socket's bytes as RawLink
// received them, each wake-up's with one recv that the reactor makes (see
// wait_readable), read by OpenSSL through a BIO of ours that sends straight
// to the socket (raw_link.cpp).
struct TlsInput {
    std::vector<std::uint8_t> bytes;
    std::size_t begin = 0, end = 0; // not yet read by TLS
    int fd = -1;                    // the socket, for the BIO's sends
};

// The connection under a WebSocket whose handshake is done, taken from
// Beast: the socket, and the TLS session on it when there is one (owned),
// with what it reads.
struct Transport {
    boost::asio::ip::tcp::socket socket;
    SSL* ssl = nullptr;
    std::unique_ptr<TlsInput> input; // with ssl: its BIO points here

    explicit Transport(boost::asio::ip::tcp::socket s, SSL* session = nullptr) : socket(std::move(s)), ssl(session) {}
    Transport(Transport&& other) noexcept
        : socket(std::move(other.socket)), ssl(std::exchange(other.ssl, nullptr)), input(std::move(other.input)) {}
    Transport& operator=(Transport&&) = delete;
    ~Transport() {
        if (ssl) SSL_free(ssl); // before the input its BIO reads
    }
};

// Only where nothing of the peer's is buffered above the socket: what Beast
// or the TLS layer read ahead would be lost. Each side hands over at such a
// point: the server right after its hello (its client waits for the hello
// before it sends a thing), the client after reading the hello (its server
// sends nothing more until it hears from the client, see RawLink).
inline Transport take_over(boost::beast::websocket::stream<boost::asio::ip::tcp::socket>& ws) {
    return Transport(std::move(ws.next_layer()));
}

// The TLS session stays as it is, keys and all: it gets a socket BIO of its
// own in place of the memory pair through which Asio fed it, and is
// refused renegotiation (Asio's verify callback goes with Asio's stream).
// Throws when TLS holds bytes of the peer's already.
Transport take_over(boost::beast::websocket::stream<boost::beast::ssl_stream<boost::asio::ip::tcp::socket>>& ws);

class RawLink : public Link, public std::enable_shared_from_this<RawLink> {
public:
    enum class Role { client, server };

    RawLink(Transport transport, Role role);
    ~RawLink() override;

    void start(LinkEvents events) override;
    bool send(const std::uint8_t* record, std::size_t size) override;
    bool congested() const override;
    void close() override;
    void flush() override;

private:
    enum class Io { done, again_read, again_write, failed };

    // Out: the socket's bytes, through TLS when there is one.
    Io write_some(const std::uint8_t* from, std::size_t size, std::size_t& put);
    Io tls_outcome(int result, std::size_t& count, const char* what); // of SSL_read or SSL_write
    Io errno_outcome(Io again); // after a failed recv or send

    // In: recv into recv_room(), then, through TLS, SSL_read (decrypt) into
    // in_, where the frames are read.
    void pump_in();
    Io decrypt(std::size_t& got);
    std::pair<std::uint8_t*, std::size_t> recv_room();
    void received(std::size_t got, std::size_t room); // a recv into recv_room() gave `got`
    void wait_readable();
    bool take_frames(); // false once the link closed
    bool on_message(frames::Opcode opcode, const std::uint8_t* data, std::size_t size);
    void queue_control(frames::Opcode opcode, const std::uint8_t* payload, std::size_t size);
    frames::MaskKey next_key();
    void pump_out();
    void wait_writable(bool for_reading); // then pump_in, or pump_out
    void beat();
    void watch_stall(std::uint64_t written); // see link_stall
    void finish(const std::string& why);

    Transport transport_;
    Role role_;
    LinkEvents events_;
    boost::asio::steady_timer heartbeat_, stall_;

    // In: frames as they come, read into messages in place.
    std::vector<std::uint8_t> in_;
    std::size_t have_ = 0;
    frames::Reader reader_;
    bool reading_wait_ = false; // a recv (or, for SSL_read, a wait to write) is armed
    bool socket_empty_ = false; // the last recv gave less than it asked for
    bool write_needs_read_ = false; // SSL_write wants the peer's bytes first

    // Out: records gathering for the next message, and the frames on their
    // way (control frames first).
    std::string pending_, control_, out_;
    std::size_t sent_ = 0; // of out_
    bool writing_wait_ = false;
    bool drain_owed_ = false; // congested was seen: on_drained below half
    bool pong_waiting_ = false; // in control_, not yet taken by flush
    std::uint64_t written_ = 0; // bytes the socket (or TLS) took, ever
    std::string why_;         // of the last Io::failed

    std::uint64_t mask_state_ = 0; // xorshift64*, seeded from RAND_bytes
    bool holding_;          // a server's link, until its client speaks
    bool heard_ = false;    // since the last beat
    int quiet_ = 0;         // beats in a row with nothing heard
    bool closed_ = false;
};

} // namespace netd::tunnel
