// The daemons while another program changes the kernel's links and
// addresses: a dump the changes interrupt (EINTR, or NLM_F_DUMP_INTR) is
// retried, so starts succeed, and listings never fail nor leave out what the
// kernel holds. Where the retries run out, the daemon answers 503 and is
// whole again once the changes stop.

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <tuple>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netlink.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

using namespace std::chrono_literals;
using platform::Netlink;

// A persistent TUN made with bare ioctls, outside any daemon; its index.
int make_tun(const std::string& name) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return 0;
    ifreq request{};
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    bool made = ::ioctl(fd, TUNSETIFF, &request) == 0 && ::ioctl(fd, TUNSETPERSIST, 1) == 0;
    ::close(fd);
    return made ? static_cast<int>(if_nametoindex(name.c_str())) : 0;
}

net::InterfaceAddress host(std::uint32_t value) {
    return net::InterfaceAddress(net::IpAddress::v4(value), 32);
}

// Enough links and addresses that a dump of either takes several batches
// (the kernel flags a dump interrupted only between batches; 1,000
// addresses make three), then two threads that change them, through netd's
// own netlink code, until destroyed: one adds and removes addresses on lo,
// thousands a second, the other creates and deletes TUNs (a deletion waits
// some 20 ms on the kernel). Everything lies outside the daemons' pool.
//
// The rate is a busy daemon's, not the most the kernel takes: past some
// rate, every dump of thousands of addresses is interrupted, and a bounded
// retry gives up (503). Churn::flat_out is that case.
class Churn {
public:
    struct Flat {};
    static constexpr Flat flat_out{};

    Churn() : Churn(1000, true) {}
    explicit Churn(Flat) : Churn(2000, false) {}

    Churn(std::uint32_t addresses, bool paced) : paced_(paced) {
        Netlink netlink;
        lo_ = static_cast<int>(if_nametoindex("lo"));
        for (int i = 0; i < 40; ++i) EXPECT_NE(make_tun("base" + std::to_string(i)), 0);
        for (std::uint32_t i = 0; i < addresses; ++i) netlink.add_address(lo_, {host(0xac1e0000 + i), {}, 0}); // 172.30/16
        threads_.emplace_back([this] { churn_addresses(); });
        threads_.emplace_back([this] { churn_links(); });
    }
    ~Churn() {
        stop_ = true;
        for (auto& thread : threads_) thread.join();
    }
    Churn(const Churn&) = delete;
    Churn& operator=(const Churn&) = delete;

    std::uint64_t changes() const { return changes_; }

private:
    void churn_addresses() {
        Netlink netlink;
        for (std::uint32_t i = 0; !stop_; ++i) {
            auto address = host(0xac1f0000 + i % 4096); // 172.31/16
            try {
                netlink.add_address(lo_, {address, {}, 0});
                netlink.delete_address(lo_, address);
                changes_ += 2;
            } catch (const std::exception&) {
                // Churn for its own sake: a refusal here is of no interest.
            }
            if (paced_ && i % 10 == 0) std::this_thread::sleep_for(1ms);
        }
    }

    void churn_links() {
        Netlink netlink;
        for (std::uint32_t i = 0; !stop_; ++i) {
            try {
                if (int index = make_tun("churn" + std::to_string(i % 64))) netlink.delete_link(index);
                changes_ += 2;
            } catch (const std::exception&) {
            }
        }
    }

    bool paced_;
    int lo_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> changes_{0};
    std::vector<std::thread> threads_;
};

std::set<std::string> field_of(const nlohmann::json& list, const std::string& field) {
    std::set<std::string> out;
    for (const auto& item : list) out.insert(item.value(field, ""));
    return out;
}

// The IPv4 networks on lo as the kernel has them, by their label.
std::set<std::string> labelled_on_lo() {
    std::set<std::string> out;
    for (const auto& address : ipv4_addresses("lo")) {
        if (address.value("label", "lo") != "lo") out.insert(address["local"].get<std::string>());
    }
    return out;
}

class KernelChurnTest : public NetnsTest {};

TEST_F(KernelChurnTest, SubnetDaemonStartsAndListsWhatTheKernelHolds) {
    std::set<std::string> networks;
    {
        auto daemon = start_subnet_daemon({"--backend", "loopback"});
        HttpClient client("127.0.0.1", subnet_port);
        for (int i = 0; i < 5; ++i) {
            auto created = client.post("/subnet", "{}");
            ASSERT_EQ(created.status, 201) << created.body;
            networks.insert(created.json()["network"].get<std::string>());
        }
        ASSERT_EQ(daemon->stop(SIGTERM), 0);
    }
    auto kernel_before = labelled_on_lo();
    ASSERT_EQ(kernel_before.size(), 5u);

    Churn churn;
    for (int start = 0; start < 10; ++start) {
        auto changes = churn.changes();
        auto daemon = start_subnet_daemon({"--backend", "loopback"});
        ASSERT_GT(daemon->pid(), 0) << "start " << start << " failed; .err: "
                                    << ::testing::PrintToString(daemon->log_lines("subnet_daemon.err"));
        HttpClient client("127.0.0.1", subnet_port);
        auto listed = client.get("/subnet");
        ASSERT_EQ(listed.status, 200) << listed.body;
        EXPECT_EQ(field_of(listed.json(), "network"), networks) << "start " << start;
        EXPECT_EQ(client.get("/healthz").status, 200);
        EXPECT_EQ(daemon->stop(SIGTERM), 0);
        EXPECT_GT(churn.changes(), changes) << "nothing changed while the daemon started";
    }
    EXPECT_EQ(labelled_on_lo(), kernel_before);
}

TEST_F(KernelChurnTest, ListingsNeverFailNorLoseWhatTheKernelHolds) {
    auto tuns = start_tun_daemon();
    auto subnets = start_subnet_daemon({"--backend", "loopback"});
    HttpClient tun_client("127.0.0.1", tun_port), subnet_client("127.0.0.1", subnet_port);
    std::set<std::string> names, networks;
    for (int i = 0; i < 5; ++i) {
        auto tun = tun_client.post("/tun", "{}");
        ASSERT_EQ(tun.status, 201) << tun.body;
        names.insert(tun.json()["name"].get<std::string>());
        auto subnet = subnet_client.post("/subnet", "{}");
        ASSERT_EQ(subnet.status, 201) << subnet.body;
        networks.insert(subnet.json()["network"].get<std::string>());
    }

    {
        Churn churn;
        int rounds = 0, listed = 0;
        for (auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until; ++rounds) {
            // Between two reads the churn's notifications overflow the
            // daemons' socket, so each read rebuilds the mirror from dumps.
            std::this_thread::sleep_for(100ms);
            for (auto [client, path, field, expected] :
                 {std::tuple{&tun_client, "/tun", "name", &names}, {&subnet_client, "/subnet", "network", &networks}}) {
                auto reply = client->get(path);
                ASSERT_NE(reply.status, 500) << path << " in round " << rounds << ": " << reply.body;
                if (reply.status != 200) continue; // 503: interrupted at every attempt, and saying so
                ++listed;
                ASSERT_EQ(field_of(reply.json(), field), *expected) << path << " in round " << rounds;
            }
        }
        EXPECT_GT(churn.changes(), 1000u);
        EXPECT_GE(listed, rounds * 2 * 9 / 10) << "too many reads were answered 503";
    }

    // Neither daemon is left with a mirror out of step: both serve, and
    // change the kernel, as before.
    EXPECT_EQ(tun_client.get("/healthz").status, 200);
    EXPECT_EQ(subnet_client.get("/healthz").status, 200);
    auto tun = tun_client.post("/tun", "{}");
    EXPECT_EQ(tun.status, 201) << tun.body;
    auto subnet = subnet_client.post("/subnet", "{}");
    EXPECT_EQ(subnet.status, 201) << subnet.body;
    EXPECT_EQ(tun_client.get("/tun").json().size(), 6u);
    EXPECT_EQ(subnet_client.get("/subnet").json().size(), 6u);
}

// Changes so fast that every dump may be interrupted at every attempt: the
// daemon then says so (503, and /healthz 503) rather than answer from a
// half-built mirror, and is whole again once the changes stop.
TEST_F(KernelChurnTest, AMirrorThatCannotBeRebuiltIsNeverServed) {
    auto subnets = start_subnet_daemon({"--backend", "loopback"});
    HttpClient client("127.0.0.1", subnet_port);
    std::set<std::string> networks;
    for (int i = 0; i < 3; ++i) {
        auto created = client.post("/subnet", "{}");
        ASSERT_EQ(created.status, 201) << created.body;
        networks.insert(created.json()["network"].get<std::string>());
    }
    int refused = 0, rounds = 0;
    {
        Churn churn(Churn::flat_out);
        for (auto until = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < until; ++rounds) {
            std::this_thread::sleep_for(100ms);
            auto health = client.get("/healthz");
            EXPECT_TRUE(health.status == 200 || health.status == 503) << health.status << " " << health.body;
            auto listed = client.get("/subnet");
            ASSERT_TRUE(listed.status == 200 || listed.status == 503) << listed.status << " " << listed.body;
            if (listed.status == 503) {
                ++refused;
                continue;
            }
            ASSERT_EQ(field_of(listed.json(), "network"), networks) << "round " << rounds;
        }
    }
    RecordProperty("refused", refused); // how often the rebuild gave up, for the curious
    EXPECT_EQ(client.get("/healthz").status, 200);
    auto listed = client.get("/subnet");
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(field_of(listed.json(), "network"), networks);
    auto created = client.post("/subnet", "{}");
    EXPECT_EQ(created.status, 201) << created.body;
}

} // namespace
} // namespace netd::testing
