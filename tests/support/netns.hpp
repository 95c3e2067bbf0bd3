#pragma once

#include <string>

#include <gtest/gtest.h>

namespace netd::testing {

// Whether this process can make network namespaces and TUNs (root with
// CAP_NET_ADMIN and /dev/net/tun); when not, `why_not` says what is missing.
bool can_make_namespaces(std::string& why_not);

// Moves this process into a fresh network namespace with lo up. Children
// started afterwards (the daemons) inherit it, so 127.0.0.1 and every
// interface they see are the test's own, and the host's are out of reach.
void enter_new_netns();

// Runs the calling thread in the named network namespace (ip netns add
// NAME) for its lifetime, then back in its own; a socket made meanwhile
// stays in the namespace it was made in.
class InNamespace {
public:
    explicit InNamespace(const std::string& name);
    ~InNamespace();
    InNamespace(const InNamespace&) = delete;
    InNamespace& operator=(const InNamespace&) = delete;

private:
    int home_;
};

// Base of every test that touches the kernel: skips, saying why, where
// namespaces cannot be made; otherwise runs the test in a namespace of its
// own, so no test sees another's interfaces. The process must stay
// single-threaded for unshare(CLONE_NEWNET) to be allowed.
class NetnsTest : public ::testing::Test {
protected:
    void SetUp() override;
};

} // namespace netd::testing
