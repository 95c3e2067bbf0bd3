#include "netd/platform/tunnel_io.hpp"

#include <cap-ng.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include <cerrno>

#include "kernel_error.hpp"
#include "netd/error.hpp"
#include "netd/tunnel_wire.hpp"

namespace netd::platform {

bool tun_offloads_supported() { return true; }

void enable_tun_offloads(int fd) {
    int header = static_cast<int>(tunnel::offload_header);
    if (::ioctl(fd, TUNSETVNETHDRSZ, &header) < 0) fail_errno(errno, "setting the TUN's virtio header size");
    // TSO needs the checksum offload; ECN rides with TSO so that a segment
    // with CWR set is not refused. UFO and USO are left off: a tunnel's
    // other end may be an older kernel, and UDP is a small share.
    unsigned long offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (::ioctl(fd, TUNSETOFFLOAD, offloads) < 0) fail_errno(errno, "turning on the TUN's offloads (TUNSETOFFLOAD)");
}

// A TUN opened with IFF_NO_PI (as tun-daemon opens them) reads and writes
// the bare packet.
std::size_t tun_packet_prefix() { return 0; }

void fill_tun_packet_prefix(std::uint8_t*, std::uint8_t) {}

void drop_all_privileges() {
    capng_get_caps_process();
    bool may_bound = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
    capng_clear(CAPNG_SELECT_ALL);
    // The bounding set can only shrink with CAP_SETPCAP; without it there
    // is nothing in the permitted set for it to bound anyway.
    if (capng_apply(may_bound ? CAPNG_SELECT_ALL : CAPNG_SELECT_BOTH) != 0) {
        fail(ErrorCode::internal, "could not drop the capabilities");
    }
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(ErrorCode::internal, "could not set no_new_privs");
}

std::string effective_privileges() {
    capng_get_caps_process();
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE) return "none";
    char* text = capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE);
    std::string result = text ? text : "?";
    ::free(text);
    return result;
}

} // namespace netd::platform
