// One address plan for many hosts: one real etcd and N subnet-daemons, each
// in a network namespace of its own joined to the test's by a veth pair,
// with a lock file of its own (one shared file would serialize them).
//
// The scale test is small under `make test` (NETD_SCALE_HOSTS=3 hosts x
// NETD_SCALE_REQUESTS=5 concurrent allocations) and large under `make bench`
// (20 x 20, ctest label bench). Timing is printed, and held to 3x one
// host's only with NETD_SCALE_TIMING=1: these machines are noisy.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "etcd_server.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netd/claim_keys.hpp"
#include "netd/net/ip.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

constexpr int lease_ttl = 3;
const std::string claims_prefix = "/netd/v2/10.0.0.0/8/blocks/";

// CPU seconds the whole machine has spent busy so far: what the daemons,
// etcd and the test's clients cost together, beside the time. The root
// cgroup's counters are in ns (v1 cpuacct) or us (v2); /proc/stat, the
// fallback, counts 10 ms ticks, coarse against a burst of tens of ms.
double machine_busy_seconds() {
    if (std::ifstream usage("/sys/fs/cgroup/cpuacct/cpuacct.usage"); usage) {
        double ns = 0;
        if (usage >> ns) return ns / 1e9;
    }
    if (std::ifstream stat("/sys/fs/cgroup/cpu.stat"); stat) {
        std::string key;
        double value = 0;
        while (stat >> key >> value) {
            if (key == "usage_usec") return value / 1e6;
        }
    }
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int env_or(const char* name, int fallback) {
    const char* value = std::getenv(name);
    return value && *value ? std::atoi(value) : fallback;
}

class ManyHostsTest : public NetnsTest {
protected:
    struct Host {
        std::string node, netns, address, etcd_address;
        std::unique_ptr<DaemonProcess> daemon;
    };

    void SetUp() override {
        NetnsTest::SetUp();
        if (IsSkipped()) return;
        if (std::system("etcd --version >/dev/null 2>&1") != 0) {
            GTEST_SKIP() << "etcd is not installed (Debian: etcd-server)";
        }
        id_ = std::to_string(getpid());
        dir_ = ::testing::TempDir() + "netd-many-" + id_;
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        // etcd serves every host's link: the test's namespace is etcd's host.
        etcd_ = std::make_unique<EtcdServer>(dir_ + "/etcd", "0.0.0.0");
        etcd_->start();
    }

    void TearDown() override {
        for (auto& host : hosts_) host.daemon.reset();
        etcd_.reset();
        for (auto& host : hosts_) std::system(("ip netns del " + host.netns + " 2>/dev/null").c_str());
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    // Host i: a namespace, a veth pair (a /30 of 192.168.80.0/20 each) and
    // subnet-daemon in it.
    Host& add_host() {
        auto i = static_cast<int>(hosts_.size());
        Host host;
        host.node = "host-" + std::to_string(i);
        host.netns = "netd-h" + std::to_string(i) + "-" + id_;
        auto base = (192u << 24) | (168u << 16) | (80u << 8) | static_cast<unsigned>(4 * i);
        host.etcd_address = net::IpAddress::v4(base + 1).to_string();
        host.address = net::IpAddress::v4(base + 2).to_string();
        auto outer = "nh" + std::to_string(i) + "a", inner = "nh" + std::to_string(i) + "b";
        if (std::system(("ip link add " + outer + " type veth peer name " + inner + " 2>/dev/null").c_str()) != 0) {
            ADD_FAILURE() << "this kernel has no veth link type, to join the hosts";
        }
        sh("ip netns add " + host.netns);
        sh("ip link set " + inner + " netns " + host.netns);
        sh("ip addr add " + host.etcd_address + "/30 dev " + outer + " && ip link set " + outer + " up");
        sh("ip -n " + host.netns + " addr add " + host.address + "/30 dev " + inner);
        sh("ip -n " + host.netns + " link set " + inner + " up && ip -n " + host.netns + " link set lo up");
        hosts_.push_back(std::move(host));
        start(hosts_.back());
        return hosts_.back();
    }

    void start(Host& host) {
        host.daemon = std::make_unique<DaemonProcess>(
            NETD_SUBNET_DAEMON, subnet_port,
            std::vector<std::string>{"--coordinator", "etcd=http://" + host.etcd_address + ":2379", "--node-id",
                                     host.node, "--lease-ttl", std::to_string(lease_ttl), "--lock-file",
                                     dir_ + "/" + host.node + ".lock", "--state-dir", dir_ + "/" + host.node},
            std::vector<std::string>{"/usr/bin/env", "ip", "netns", "exec", host.netns}, host.address);
    }

    // A client on the host itself: only a caller its kernel identifies may
    // change anything.
    static HttpClient client(const Host& host) {
        InNamespace there(host.netns);
        return HttpClient(host.address, subnet_port);
    }

    // `count` concurrent POST /subnet with `body` on `host`: the replies, and
    // the mean seconds each took.
    static std::vector<HttpReply> burst(const Host& host, int count, const std::string& body, double& mean_seconds) {
        std::vector<HttpReply> replies(static_cast<std::size_t>(count));
        std::vector<double> seconds(static_cast<std::size_t>(count));
        std::vector<std::thread> threads;
        for (int i = 0; i < count; ++i) {
            threads.emplace_back([&, i] {
                auto connection = client(host);
                auto started = std::chrono::steady_clock::now();
                replies[static_cast<std::size_t>(i)] = connection.post("/subnet", body);
                seconds[static_cast<std::size_t>(i)] =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            });
        }
        for (auto& thread : threads) thread.join();
        mean_seconds = 0;
        for (double each : seconds) mean_seconds += each / count;
        return replies;
    }

    // The IPv4 networks of ours in the host's kernel (subnet-daemon puts
    // them on lo, or on dummy links where the kernel has them).
    static std::set<std::string> kernel_blocks(const Host& host) {
        std::set<std::string> out;
        for (const auto& link : ip_json("-n " + host.netns + " -4 addr show")) {
            for (const auto& address : link.value("addr_info", nlohmann::json::array())) {
                auto text = address.value("local", "") + "/" + std::to_string(address.value("prefixlen", 32));
                auto network = net::InterfaceAddress::parse(text).network();
                if (net::Cidr::parse("10.0.0.0/8").contains(network)) out.insert(network.to_string());
            }
        }
        return out;
    }

    // Every claim in etcd, as block -> node.
    std::map<std::string, std::string> etcd_claims() const {
        ClaimKeys layout(net::Cidr::parse("10.0.0.0/8"));
        std::map<std::string, std::string> out;
        for (const auto& [key, value] : etcd_->keys(claims_prefix)) {
            auto block = layout.block_of(key);
            EXPECT_TRUE(block) << key;
            if (block) out[block->to_string()] = nlohmann::json::parse(value.first).value("node", "");
        }
        return out;
    }

    static double metric(const Host& host, const std::string& name) {
        auto text = client(host).get("/metrics").body;
        auto at = text.find("\n" + name + " ");
        return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
    }

    // Waits until `host` has claimed again what it holds (after a lost lease).
    static void await_reconciled(const Host& host, double leases_lost) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(lease_ttl * 3);
        while (std::chrono::steady_clock::now() < deadline &&
               (metric(host, "netd_etcd_leases_lost_total") < leases_lost ||
                metric(host, "netd_claims_reconciled") != 1 || metric(host, "netd_claims_lost") != 0)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        EXPECT_GE(metric(host, "netd_etcd_leases_lost_total"), leases_lost);
        EXPECT_EQ(metric(host, "netd_claims_reconciled"), 1);
        EXPECT_EQ(metric(host, "netd_claims_lost"), 0);
    }

    // No block in two hosts' kernels, and every kernel's blocks claimed in
    // etcd by that host.
    void expect_one_plan() const {
        auto claimed = etcd_claims();
        std::map<std::string, std::string> holder;
        for (const auto& host : hosts_) {
            for (const auto& block : kernel_blocks(host)) {
                EXPECT_FALSE(holder.contains(block)) << block << " is on " << holder[block] << " and " << host.node;
                holder[block] = host.node;
                EXPECT_EQ(claimed[block], host.node) << block << " is on " << host.node << " but claimed by \""
                                                     << claimed[block] << "\"";
            }
        }
    }

    // A holds `count` blocks; a second host B is up.
    std::vector<std::string> hold_blocks(int count) {
        add_host();
        add_host();
        double mean = 0;
        for (const auto& reply : burst(hosts_[0], count, "{}", mean)) EXPECT_EQ(reply.status, 201) << reply.body;
        auto held = kernel_blocks(hosts_[0]);
        EXPECT_EQ(held.size(), static_cast<std::size_t>(count));
        return {held.begin(), held.end()};
    }

    // Host B asks for each of `blocks` by CIDR, all at once: none may be
    // granted while A holds them.
    void expect_refused_to_b(const std::vector<std::string>& blocks) {
        std::vector<std::thread> threads;
        std::vector<HttpReply> replies(blocks.size());
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            threads.emplace_back([&, i] {
                replies[i] = client(hosts_[1]).post("/subnet", R"({"cidr":")" + blocks[i] + R"("})");
            });
        }
        for (auto& thread : threads) thread.join();
        bool refused = true;
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            EXPECT_EQ(replies[i].status, 409) << blocks[i] << " went to host B: " << replies[i].body;
            refused &= replies[i].status == 409;
        }
        if (!refused) { // both daemons' logs, once flushed, to see why
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            for (const auto& line : hosts_[0].daemon->log_lines("subnet_daemon.log")) std::cout << "A " << line << "\n";
            for (const auto& line : hosts_[1].daemon->log_lines("subnet_daemon.log")) std::cout << line << "\n";
        }
    }

    std::string id_, dir_;
    std::unique_ptr<EtcdServer> etcd_;
    std::vector<Host> hosts_;
};

TEST_F(ManyHostsTest, ARevokedLeaseLosesNoBlock) {
    auto held = hold_blocks(30);
    std::set<std::string> leases;
    for (const auto& [key, value] : etcd_->keys(claims_prefix)) leases.insert(value.second);
    ASSERT_EQ(leases.size(), 1u);
    etcd_->call("/v3/lease/revoke", {{"ID", *leases.begin()}});

    expect_refused_to_b(held);
    double mean = 0;
    for (const auto& reply : burst(hosts_[1], 5, "{}", mean)) EXPECT_EQ(reply.status, 201) << reply.body;
    await_reconciled(hosts_[0], 1);
    expect_one_plan();
    auto claimed = etcd_claims();
    for (const auto& block : held) EXPECT_EQ(claimed[block], "host-0") << block << " was not claimed again";
    EXPECT_EQ(client(hosts_[0]).get("/healthz").json()["status"], "ok");
}

TEST_F(ManyHostsTest, AHostDownLongerThanItsTtlClaimsEveryBlockAgain) {
    auto held = hold_blocks(30);
    hosts_[0].daemon->stop(SIGKILL);
    // Its lease expires and etcd drops its claims.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(lease_ttl * 3);
    while (!etcd_claims().empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(etcd_claims().empty()) << "the claims outlived the lease";
    expect_refused_to_b(held);

    start(hosts_[0]);
    await_reconciled(hosts_[0], 0);
    expect_one_plan();
    auto claimed = etcd_claims();
    for (const auto& block : held) EXPECT_EQ(claimed[block], "host-0") << block << " was not claimed again";
    expect_refused_to_b(held);
    EXPECT_EQ(client(hosts_[0]).get("/healthz").json()["status"], "ok");
}

// Every host allocates at once: all succeed, no block twice, about one claim
// transaction per allocation, no lease lost; the time per allocation beside
// one host's, measured in the same run, with what the CPU did meanwhile.
TEST_F(ManyHostsTest, ManyHostsAllocatingAtOnceNeverDoubleBook) {
    const int host_count = env_or("NETD_SCALE_HOSTS", 3);
    const int requests = env_or("NETD_SCALE_REQUESTS", 5);
    for (int i = 0; i < host_count; ++i) add_host();

    // One phase's figures, each per allocation but the wall time and the
    // share of the machine's cores kept busy (daemons, etcd, the clients).
    struct Phase {
        double mean = 0, wall = 0, txns = 0, conflicts = 0, cpu = 0, etcd_cpu = 0, busy = 0;
        std::vector<std::vector<HttpReply>> replies;
    };
    auto conflicts = [&] {
        double total = 0;
        for (const auto& host : hosts_) total += metric(host, "netd_claim_conflicts_total");
        return total;
    };
    auto measure = [&](std::size_t hosts) {
        Phase phase;
        auto txns_before = etcd_->transactions();
        auto conflicts_before = conflicts();
        auto etcd_before = etcd_->cpu_seconds();
        auto busy_before = machine_busy_seconds();
        std::vector<double> means(hosts);
        phase.replies.resize(hosts);
        std::vector<std::thread> threads;
        auto started = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < hosts; ++i) {
            threads.emplace_back([&, i] { phase.replies[i] = burst(hosts_[i], requests, "{}", means[i]); });
        }
        for (auto& thread : threads) thread.join();
        phase.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        auto busy = machine_busy_seconds() - busy_before;
        auto allocations = static_cast<double>(hosts) * requests;
        phase.cpu = busy / allocations;
        phase.busy = busy / (phase.wall * static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)));
        phase.etcd_cpu = (etcd_->cpu_seconds() - etcd_before) / allocations;
        phase.txns = (etcd_->transactions() - txns_before) / allocations;
        phase.conflicts = (conflicts() - conflicts_before) / allocations;
        for (double mean : means) phase.mean += mean / static_cast<double>(hosts);
        return phase;
    };

    // One host alone first, then all of them.
    auto alone = measure(1);
    for (const auto& reply : alone.replies[0]) ASSERT_EQ(reply.status, 201) << reply.body;
    auto all = measure(hosts_.size());

    std::set<std::string> distinct;
    int created = 0;
    for (const auto& host_replies : all.replies) {
        for (const auto& reply : host_replies) {
            EXPECT_EQ(reply.status, 201) << reply.body;
            if (reply.status != 201) continue;
            ++created;
            distinct.insert(reply.json()["network"].get<std::string>());
        }
    }
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(created)) << "a block was handed out twice";
    expect_one_plan();
    EXPECT_LE(all.txns, 1.5) << "claim transactions per allocation";
    for (const auto& host : hosts_) EXPECT_EQ(metric(host, "netd_etcd_leases_lost_total"), 0) << host.node;

    // Per allocation: the mean time a request took, claim transactions,
    // races lost, the machine's busy CPU time and etcd's share of it; then
    // the burst's wall time and how busy it kept the cores.
    auto row = [&](int hosts, const Phase& phase, const std::string& ratio) {
        char line[256];
        std::snprintf(line, sizeof line, "| %d x %d | %.1f ms%s | %.2f | %.2f | %.1f ms | %.1f ms | %.0f ms | %.0f%% |",
                      hosts, requests, phase.mean * 1000, ratio.c_str(), phase.txns, phase.conflicts,
                      phase.cpu * 1000, phase.etcd_cpu * 1000, phase.wall * 1000, phase.busy * 100);
        return std::string(line);
    };
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, " (%.1fx)", all.mean / alone.mean);
    auto lines = row(1, alone, "") + "\n" + row(host_count, all, ratio) + "\n";
    std::cout << "| hosts x requests | time | txns | conflicts | CPU | of which etcd | wall | cores busy |\n" << lines;
    if (const char* report = std::getenv("NETD_SCALE_REPORT")) std::ofstream(report, std::ios::app) << lines;
    if (env_or("NETD_SCALE_TIMING", 0)) {
        EXPECT_LE(all.mean, 3 * alone.mean) << "time per allocation at " << host_count << " hosts against one host's";
    }
}

} // namespace
} // namespace netd::testing
