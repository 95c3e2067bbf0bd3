#include "netd/tunnel/tun_port.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netd/tunnel_wire.hpp"

namespace netd::tunnel {
namespace {

// Reads in one turn of the loop before others get theirs.
constexpr int burst = 64;

} // namespace

TunPort::TunPort(boost::asio::io_context& io, platform::UniqueFd fd, bool vnet_hdr, OnRecord on_record,
                 OnError on_error)
    : descriptor_(io), vnet_hdr_(vnet_hdr), on_record_(std::move(on_record)), on_error_(std::move(on_error)),
      buffer_(max_record) {
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

void TunPort::wait() {
    if (paused_ || waiting_) return;
    waiting_ = true;
    descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this](const boost::system::error_code& ec) {
                               waiting_ = false;
                               if (ec) {
                                   if (ec != boost::asio::error::operation_aborted) {
                                       on_error_("waiting on the TUN failed: " + ec.message());
                                   }
                                   return;
                               }
                               drain();
                           });
}

void TunPort::drain() {
    // Without a virtio header of its own, the packet lands after a zero one.
    std::size_t skip = vnet_hdr_ ? 0 : offload_header;
    for (int i = 0; i < burst && !paused_; ++i) {
        auto n = ::read(descriptor_.native_handle(), buffer_.data() + skip, buffer_.size() - skip);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            // EBADFD: the TUN was deleted while we held it.
            on_error_(std::string("reading the TUN failed: ") + std::strerror(errno));
            return;
        }
        if (skip) std::memset(buffer_.data(), 0, skip);
        if (static_cast<std::size_t>(n) + skip <= offload_header) continue;
        on_record_(buffer_.data(), static_cast<std::size_t>(n) + skip);
    }
    wait();
}

bool TunPort::write(const std::uint8_t* record, std::size_t size) {
    if (!vnet_hdr_) {
        // flags (NEEDS_CSUM) or a GSO type: a segment this TUN cannot take.
        if (record[0] != 0 || record[1] != 0) return false;
        record += offload_header;
        size -= offload_header;
    }
    for (;;) {
        auto n = ::write(descriptor_.native_handle(), record, size);
        if (n >= 0) return true;
        if (errno != EINTR) return false;
    }
}

} // namespace netd::tunnel
