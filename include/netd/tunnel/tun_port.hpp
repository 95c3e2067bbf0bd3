#pragma once

// First: Boost 1.74's asio/awaitable.hpp uses std::exchange without it.
#include <utility>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio.hpp>

#include "unique_fd.hpp"

// The TUN's descriptor on the I/O thread: reads as they come, in bursts,
// each handed on as one record (tunnel_wire.hpp: the offload header, then
// the packet), and writes of the records peers send.
namespace netd::tunnel {

class TunPort {
public:
    using OnRecord = std::function<void(const std::uint8_t* record, std::size_t size)>;
    // The TUN failed for good (deleted under us, most likely): reading has
    // stopped, and the owner sets it up again or gives up.
    using OnError = std::function<void(const std::string& why)>;
    // After each burst of reads that handed on a record: the moment to send.
    using OnBurstEnd = std::function<void()>;

    // `vnet_hdr`: the descriptor carries a virtio header (Linux, with the
    // offloads on). Without one (a utun, or --no-offloads), reads get a zero
    // header put before them (in place of the OS's packet prefix, see
    // platform::tun_packet_prefix), and a record that needs an offload is
    // finished here first (tunnel_offload.hpp: cut, checksummed).
    TunPort(boost::asio::io_context& io, platform::UniqueFd fd, bool vnet_hdr, OnRecord on_record, OnError on_error,
            OnBurstEnd on_burst_end);

    void start();
    // While paused, packets wait in the kernel's queue (500 by default),
    // and past it the kernel drops them, as for any slow reader. The read
    // already armed may still take one, which is handed on as usual.
    void pause();
    void resume();

    // Writes one record to the TUN: false when the kernel refused it (a
    // full queue, a malformed header) or it could not be finished, which
    // the caller counts as a drop.
    bool write(const std::uint8_t* record, std::size_t size);

private:
    void wait();
    void drain(bool handed_on); // the rest of a burst, after the read the wait made
    bool hand_on(std::size_t n); // the record just read, n bytes after skip()
    std::size_t skip() const;
    bool write_packet(const std::uint8_t* packet, std::size_t size);

    boost::asio::posix::stream_descriptor descriptor_;
    bool vnet_hdr_;
    OnRecord on_record_;
    OnError on_error_;
    OnBurstEnd on_burst_end_;
    std::size_t prefix_; // the OS's bytes before a packet, without vnet_hdr
    std::vector<std::uint8_t> buffer_, scratch_;
    bool paused_ = false, waiting_ = false;
};

} // namespace netd::tunnel
