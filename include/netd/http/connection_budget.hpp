#pragma once

#include <cstddef>
#include <list>

namespace netd::http {

// Who holds a server's connections, and who gives way when they run out.
//
// Of `cap` connections, `reserved` are kept for privileged callers (the
// Unix socket, admins): others may hold at most cap - reserved, privileged
// ones all of them. When a new connection would go past its share, the
// connection idle longest gives way: one waiting for a request, or reading
// one that began long ago (a slowloris), preferring callers who are not
// privileged, and only among those whose going makes room. A connection
// with a request in flight (handled, or its response being written) never
// gives way; only when no connection can is the new one refused (503). So
// idle or slow clients can never lock anyone out, and the reserve keeps
// the busy ones of other users from locking out root.
//
// Not thread-safe: the server's io_context runs on one thread.
class ConnectionBudget {
public:
    // What the budget knows of a connection; the server's sessions are ones.
    class Connection {
    public:
        virtual ~Connection() = default;
        // Closes the connection at once and without an answer, which is
        // safe: it had no request in flight. The budget has already let it
        // go.
        virtual void evict() = 0;

    private:
        friend class ConnectionBudget;
        bool admitted_ = false;
        bool privileged_ = false;
        bool evictable_ = false;
        std::list<Connection*>::iterator place_{}; // in idle_[privileged_] while evictable
    };

    enum class Admission {
        admitted,
        evicted_one, // admitted once the connection idle longest was evicted
        refused,     // every connection that could make room has a request in flight
    };

    // Throws netd::Error(invalid) unless 0 <= reserved < cap.
    ConnectionBudget(std::size_t cap, std::size_t reserved);

    // A new connection, evictable until it is busy(). Once refused, it is
    // not counted, and the calls below ignore it.
    Admission admit(Connection& connection, bool privileged);
    // Waits for a request, or reads one: evictable, and idle from now on
    // (after every connection idle already).
    void idle(Connection& connection);
    // Has a request in flight: not evictable until idle() again.
    void busy(Connection& connection);
    // Closed (evicted ones have left already).
    void leave(Connection& connection);

    std::size_t cap() const { return cap_; }
    std::size_t reserved() const { return reserved_; }
    std::size_t open() const { return open_[0] + open_[1]; }
    std::size_t open_unprivileged() const { return open_[0]; }

private:
    Connection* victim(bool privileged) const;
    void forget(Connection& connection);

    std::size_t cap_;
    std::size_t reserved_;
    std::size_t open_[2] = {0, 0};          // [privileged]
    std::list<Connection*> idle_[2];        // [privileged], idle longest first
};

} // namespace netd::http
