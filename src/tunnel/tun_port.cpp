#include "netd/tunnel/tun_port.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netd/platform/tunnel_io.hpp"
#include "netd/tunnel_offload.hpp"
#include "netd/tunnel_wire.hpp"

namespace netd::tunnel {
namespace {

// Reads in one turn of the loop before others get theirs.
constexpr int burst = 64;

} // namespace

TunPort::TunPort(boost::asio::io_context& io, platform::UniqueFd fd, bool vnet_hdr, OnRecord on_record,
                 OnError on_error, OnBurstEnd on_burst_end)
    : descriptor_(io), vnet_hdr_(vnet_hdr), on_record_(std::move(on_record)), on_error_(std::move(on_error)),
      on_burst_end_(std::move(on_burst_end)),
      prefix_(vnet_hdr ? 0 : platform::tun_packet_prefix()), buffer_(max_record) {
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    descriptor_.assign(fd.release());
}

void TunPort::start() { wait(); }

void TunPort::pause() { paused_ = true; }

void TunPort::resume() {
    if (!paused_) return;
    paused_ = false;
    wait();
}

std::size_t TunPort::skip() const {
    // Without a virtio header of its own, the packet lands after a zero one,
    // the OS's prefix (a utun's address family) read over its last bytes.
    return vnet_hdr_ ? 0 : offload_header - prefix_;
}

void TunPort::wait() {
    if (paused_ || waiting_) return;
    waiting_ = true;
    // A read that the reactor makes itself, at once (it finds nothing: the
    // burst before ended on EAGAIN) and again when the TUN is ready. A bare
    // wait would cost an epoll_ctl each time it is armed, on every packet of
    // an idle tunnel.
    descriptor_.async_read_some(boost::asio::buffer(buffer_.data() + skip(), buffer_.size() - skip()),
                                [this](const boost::system::error_code& ec, std::size_t n) {
                                    if (ec == boost::asio::error::operation_aborted) return;
                                    waiting_ = false;
                                    if (ec) {
                                        on_error_("reading the TUN failed: " + ec.message());
                                        return;
                                    }
                                    bool handed_on = hand_on(n);
                                    drain(handed_on);
                                });
}

bool TunPort::hand_on(std::size_t n) {
    if (!vnet_hdr_) std::memset(buffer_.data(), 0, offload_header);
    if (n + skip() <= offload_header) return false;
    on_record_(buffer_.data(), n + skip());
    return true;
}

void TunPort::drain(bool handed_on) {
    for (int i = 1; i < burst && !paused_; ++i) {
        auto n = ::read(descriptor_.native_handle(), buffer_.data() + skip(), buffer_.size() - skip());
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            // EBADFD: the TUN was deleted while we held it.
            on_error_(std::string("reading the TUN failed: ") + std::strerror(errno));
            return;
        }
        handed_on = hand_on(static_cast<std::size_t>(n)) || handed_on;
    }
    if (handed_on && on_burst_end_) on_burst_end_();
    wait();
}

bool TunPort::write(const std::uint8_t* record, std::size_t size) {
    if (vnet_hdr_) return write_packet(record, size);
    // A segment, or a checksum left for the NIC, from a peer with
    // offloads: plain packets for this TUN.
    if (OffloadHeader::read(record).plain()) return write_packet(record + offload_header, size - offload_header);
    bool written = true;
    bool finished = finish_offloads(record, size, scratch_, [&](const std::uint8_t* packet, std::size_t length) {
        written = write_packet(packet, length) && written;
    });
    return finished && written;
}

bool TunPort::write_packet(const std::uint8_t* packet, std::size_t size) {
    std::uint8_t prefix[8];
    iovec parts[2] = {{prefix, prefix_}, {const_cast<std::uint8_t*>(packet), size}};
    if (prefix_) platform::fill_tun_packet_prefix(prefix, size ? packet[0] : 0);
    for (;;) {
        auto n = prefix_ ? ::writev(descriptor_.native_handle(), parts, 2)
                         : ::write(descriptor_.native_handle(), packet, size);
        if (n >= 0) return true;
        if (errno != EINTR) return false;
    }
}

} // namespace netd::tunnel
