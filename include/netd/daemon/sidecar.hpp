#pragma once

namespace netd::daemon {

// Something a daemon serves beside its API, on the same io_context and
// thread (tun-daemon's fd socket): made and bound before the API listens,
// while the daemon may still be root; started with the server, and stopped
// with it at SIGTERM. Destroyed before the io_context.
class Sidecar {
public:
    virtual ~Sidecar() = default;
    virtual void start() = 0;
    virtual void stop() = 0;
};

} // namespace netd::daemon
