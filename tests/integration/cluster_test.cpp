// Two hosts, one address plan: a real etcd and two tun-daemons, each in a
// network namespace of its own (host A is the test's namespace, host B one
// the test adds), joined by a veth pair that the test makes. etcd listens on
// A's end of the link, so that B reaches it over the "network".

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "etcd_server.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

constexpr const char* host_a_address = "192.168.77.1"; // outside the pool, 10.0.0.0/8
constexpr const char* host_b_address = "192.168.77.2";
constexpr int lease_ttl = 3;

class ClusterTest : public NetnsTest {
protected:
    void SetUp() override {
        NetnsTest::SetUp();
        if (IsSkipped()) return;
        if (std::system("etcd --version >/dev/null 2>&1") != 0) {
            GTEST_SKIP() << "etcd is not installed (Debian: etcd-server)";
        }
        auto id = std::to_string(getpid());
        host_b_ = "netd-b-" + id;
        dir_ = ::testing::TempDir() + "netd-cluster-" + id;
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        if (std::system("ip link add netd-a type veth peer name netd-b 2>/dev/null") != 0) {
            GTEST_SKIP() << "this kernel has no veth link type, to join the two hosts";
        }
        sh("ip netns add " + host_b_);
        sh("ip link set netd-b netns " + host_b_);
        sh("ip addr add " + std::string(host_a_address) + "/30 dev netd-a && ip link set netd-a up");
        sh("ip -n " + host_b_ + " addr add " + host_b_address + "/30 dev netd-b");
        sh("ip -n " + host_b_ + " link set netd-b up && ip -n " + host_b_ + " link set lo up");
        etcd_ = std::make_unique<EtcdServer>(dir_ + "/etcd", host_a_address);
        etcd_->start();
    }

    void TearDown() override {
        etcd_.reset();
        if (!host_b_.empty()) std::system(("ip netns del " + host_b_ + " 2>/dev/null").c_str());
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    std::vector<std::string> flags(const std::string& node) const {
        return {"--coordinator", "etcd=http://" + std::string(host_a_address) + ":2379", "--node-id", node,
                "--lease-ttl", std::to_string(lease_ttl), "--lock-file", dir_ + "/" + node + ".lock",
                "--state-dir", dir_ + "/" + node};
    }
    std::unique_ptr<DaemonProcess> start_a() {
        return std::make_unique<DaemonProcess>(NETD_TUN_DAEMON, tun_port, flags("host-a"));
    }
    std::unique_ptr<DaemonProcess> start_b(const char* binary = NETD_TUN_DAEMON, unsigned short port = tun_port) {
        auto node_flags = flags("host-b");
        if (port != tun_port) node_flags.back() += "-" + std::to_string(port); // a state dir of its own
        return std::make_unique<DaemonProcess>(binary, port, node_flags,
                                               std::vector<std::string>{"/usr/bin/env", "ip", "netns", "exec", host_b_},
                                               host_b_address);
    }
    static HttpClient a() { return HttpClient("127.0.0.1", tun_port); }
    // A client on host B itself: the daemons let only a caller the kernel
    // identifies (or one with the token) change anything, and the kernel of
    // B cannot tell who owns a socket in A's namespace.
    HttpClient b(unsigned short port = tun_port) const {
        InNamespace there(host_b_);
        return HttpClient(host_b_address, port); // connected before `there` switches back
    }

    // GET /cluster/blocks as block -> node, once it lists `count` claims: the
    // daemon's view follows etcd through a watch, milliseconds behind.
    static std::map<std::string, std::string> settled_claims(HttpClient&& client, std::size_t count) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        auto held = claims(client);
        while (held.size() != count && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            held = claims(client);
        }
        return held;
    }

    // GET /cluster/blocks as block -> node.
    static std::map<std::string, std::string> claims(HttpClient&& client) { return claims(client); }
    static std::map<std::string, std::string> claims(HttpClient& client) {
        auto reply = client.get("/cluster/blocks");
        EXPECT_EQ(reply.status, 200) << reply.body;
        std::map<std::string, std::string> out;
        for (const auto& claim : reply.json()) out[claim["block"]] = claim["node"];
        return out;
    }

    std::string host_b_, dir_;
    std::unique_ptr<EtcdServer> etcd_;
};

TEST_F(ClusterTest, ConcurrentAllocationsOnTwoHostsGetDistinctBlocks) {
    auto daemon_a = start_a();
    auto daemon_b = start_b();
    std::vector<std::string> from_a, from_b;
    auto allocate = [](HttpClient& client, std::vector<std::string>& out) {
        for (int i = 0; i < 50; ++i) {
            auto reply = client.post("/tun", "{}");
            if (reply.status != 201) {
                out.push_back("error " + std::to_string(reply.status) + ": " + reply.body);
                continue;
            }
            out.push_back(reply.json()["ip_addr"]);
        }
    };
    HttpClient client_a = a(), client_b = b();
    std::thread on_a(allocate, std::ref(client_a), std::ref(from_a));
    std::thread on_b(allocate, std::ref(client_b), std::ref(from_b));
    on_a.join();
    on_b.join();

    std::set<std::string> distinct(from_a.begin(), from_a.end());
    distinct.insert(from_b.begin(), from_b.end());
    EXPECT_EQ(distinct.size(), 100u);
    for (const auto& address : distinct) EXPECT_EQ(address.find("error"), std::string::npos) << address;
    auto held = settled_claims(a(), 100);
    EXPECT_EQ(held.size(), 100u);
    EXPECT_EQ(std::count_if(held.begin(), held.end(), [](const auto& claim) { return claim.second == "host-a"; }), 50);
    EXPECT_EQ(settled_claims(b(), 100), held) << "the hosts see different claims";
    EXPECT_EQ(ip_json("link show type tun").size(), 50u) << "host A's kernel";
}

TEST_F(ClusterTest, AnExplicitBlockHeldByOneHostIsAConflictOnTheOther) {
    auto daemon_a = start_a();
    auto daemon_b = start_b();
    ASSERT_EQ(a().post("/tun", R"({"name":"site0","address":"10.200.0.1/24"})").status, 201);
    auto refused = b().post("/tun", R"({"address":"10.200.0.9/16"})");
    EXPECT_EQ(refused.status, 409);
    EXPECT_NE(refused.body.find("claimed by tun-daemon on node host-a"), std::string::npos) << refused.body;
    EXPECT_EQ(b().post("/tun", R"({"address":"10.201.0.1/24"})").status, 201);

    // subnet-daemon claims in the same plan.
    auto subnets_b = start_b(NETD_SUBNET_DAEMON, subnet_port);
    HttpClient subnet_b = b(subnet_port);
    auto subnet = subnet_b.post("/subnet", R"({"cidr":"10.200.0.0/25"})");
    EXPECT_EQ(subnet.status, 409);
    EXPECT_NE(subnet.body.find("on node host-a"), std::string::npos) << subnet.body;

    // Released once the kernel has let go of it, a moment after the answer.
    EXPECT_EQ(a().del("/tun/site0").status, 204);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    HttpReply added;
    do {
        added = subnet_b.post("/subnet", R"({"cidr":"10.200.0.0/25"})");
    } while (added.status == 409 && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(added.status, 201) << added.body;
    auto held = settled_claims(a(), 2);
    EXPECT_EQ(held["10.200.0.0/25"], "host-b");
    EXPECT_FALSE(held.contains("10.200.0.0/24"));
}

TEST_F(ClusterTest, WithoutEtcdNothingIsAllocatedAndNothingTornDown) {
    auto daemon_a = start_a();
    auto daemon_b = start_b();
    auto created = a().post("/tun", R"({"name":"a0"})");
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_EQ(b().post("/tun", R"({"name":"b0"})").status, 201);

    etcd_->stop();
    auto refused = b().post("/tun", "{}");
    EXPECT_EQ(refused.status, 503);
    EXPECT_NE(refused.body.find("etcd is out of reach"), std::string::npos) << refused.body;
    EXPECT_EQ(a().post("/tun", R"({"address":"10.99.0.1/24"})").status, 503);
    auto listed = a().get("/tun");
    EXPECT_EQ(listed.status, 200);
    EXPECT_EQ(listed.json(), nlohmann::json::array({created.json()}));
    EXPECT_TRUE(link("a0")) << "a0 was torn down";
    EXPECT_EQ(b().get("/tun/b0").status, 200);
    // The next keepalive finds etcd gone.
    std::this_thread::sleep_for(std::chrono::milliseconds(lease_ttl * 1000 / 3 + 500));
    auto health = a().get("/healthz").json();
    EXPECT_EQ(health["status"], "degraded") << health.dump();

    etcd_->start();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    HttpReply again;
    do {
        again = b().post("/tun", "{}");
    } while (again.status == 503 && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(again.status, 201) << again.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(lease_ttl * 1000 / 3 + 500));
    EXPECT_EQ(a().get("/healthz").json()["status"], "ok");
}

TEST_F(ClusterTest, ARestartedHostKeepsItsBlocksAndADeadOnesFreeAfterTheTtl) {
    auto daemon_a = start_a();
    auto daemon_b = start_b();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(a().post("/tun", "{}").status, 201);
    ASSERT_EQ(b().post("/tun", "{}").status, 201);
    auto before = claims(a());
    ASSERT_EQ(before.size(), 4u);
    auto a_block = std::find_if(before.begin(), before.end(), [](const auto& c) { return c.second == "host-a"; })->first;
    auto wanted = R"({"address":")" + a_block.substr(0, a_block.rfind('.')) + R"(.1/24"})";

    // kill -9, then a restart within the TTL: the new daemon takes its
    // claims over under a new lease, so they outlive the old one.
    daemon_a->stop(SIGKILL);
    EXPECT_EQ(b().post("/tun", wanted).status, 409) << "a dead host's block was free before its TTL";
    daemon_a = start_a();
    std::this_thread::sleep_for(std::chrono::seconds(lease_ttl + 2));
    EXPECT_EQ(claims(b()), before) << "a block changed hands";
    EXPECT_EQ(b().post("/tun", wanted).status, 409);

    // Gone for longer than the TTL: its blocks are dropped, and kept for it
    // one TTL more (it may only have lost its lease); then they are free for
    // the other host.
    daemon_a->stop(SIGKILL);
    EXPECT_EQ(b().post("/tun", wanted).status, 409);
    std::this_thread::sleep_for(std::chrono::seconds(lease_ttl + 2));
    EXPECT_EQ(b().post("/tun", wanted).status, 409) << "a dropped block was free before its node had a TTL";
    std::this_thread::sleep_for(std::chrono::seconds(lease_ttl));
    auto taken = b().post("/tun", wanted);
    EXPECT_EQ(taken.status, 201) << taken.body;
    EXPECT_EQ(claims(b())[a_block], "host-b");

    // Host A comes back still holding that block in its kernel: it is not
    // taken back, but reported.
    daemon_a = start_a();
    auto health = a().get("/healthz").json();
    EXPECT_EQ(health["status"], "degraded") << health.dump();
    EXPECT_NE(health.dump().find(a_block + " is held here but claimed by tun-daemon on node host-b"), std::string::npos)
        << health.dump();
    EXPECT_EQ(claims(a())[a_block], "host-b");
    daemon_a->stop(SIGTERM);
    auto errors = daemon_a->log_lines("tun_daemon.err");
    EXPECT_TRUE(std::any_of(errors.begin(), errors.end(),
                            [](const auto& line) { return line.find("[error]") != std::string::npos &&
                                                          line.find("claimed by tun-daemon on node host-b") !=
                                                              std::string::npos; }))
        << "not logged at ERROR";
}

} // namespace
} // namespace netd::testing
