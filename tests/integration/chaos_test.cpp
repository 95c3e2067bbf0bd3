// Chaos: both daemons in one namespace under concurrent mixed load, killed
// with -9 at random moments, their state directories on a tiny tmpfs that
// fills up now and then, and their journals damaged between runs. Then the
// promises are checked: no crash, no 5xx but the 503s of a full disk, every
// link they made listed and deletable, no overlapping ranges, listings equal
// to the kernel, and a simulated reboot restoring exactly what was listed.
//
// Bounded: NETD_CHAOS_ROUNDS rounds (default 3) of NETD_CHAOS_SECONDS of
// load each (default 3). `make soak` runs it longer and repeatedly.
// NETD_CHAOS_SEED replays a run (each run prints its seed).

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netd/net/ip.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int env_or(const char* name, int fallback) {
    const char* value = std::getenv(name);
    return value && *value ? std::atoi(value) : fallback;
}

// What one daemon was told and answered, as a client sees it: what it
// acknowledged (201) and not deleted (204), what it refused while the disk
// was full (503: it must not exist), and how many requests lost their answer
// to a kill (their outcome is unknown, in either direction).
struct Ledger {
    std::mutex mutex;
    std::set<std::string> acknowledged;
    std::set<std::string> refused;   // created names answered 503
    std::set<std::string> uncertain; // created or deleted, answer lost
    int uncertain_creates = 0;       // of anonymous creates (subnets)
    std::vector<std::string> failures;
};

// One daemon under test, restartable from the chaos thread while workers
// send it requests.
class Target {
public:
    Target(std::string binary, unsigned short port, std::string state_dir, std::string stem)
        : binary_(std::move(binary)), port_(port), state_dir_(std::move(state_dir)), stem_(std::move(stem)) {}

    void start() {
        std::lock_guard lock(mutex_);
        process_ = std::make_unique<DaemonProcess>(binary_, port_, std::vector<std::string>{
            "--state-dir", state_dir_, "--lock-file", state_dir_ + "/../allocation.lock"});
        ++epoch_;
        up_ = true;
    }

    // kill -9, after checking that it had not died on its own.
    void kill9() {
        std::lock_guard lock(mutex_);
        check_alive_locked();
        up_ = false;
        ++epoch_;
        process_->stop(SIGKILL);
        process_.reset();
    }

    void check_alive() {
        std::lock_guard lock(mutex_);
        check_alive_locked();
    }

    // Bumped at every kill and start: a request that fails across a change
    // lost its answer to the chaos, not to a bug.
    int epoch() const { return epoch_.load(); }
    bool up() const { return up_.load(); }
    unsigned short port() const { return port_; }
    const std::string& state_dir() const { return state_dir_; }
    const std::string& name() const { return stem_; }

private:
    void check_alive_locked() {
        if (!process_) return;
        int status = 0;
        if (waitpid(process_->pid(), &status, WNOHANG) == process_->pid()) {
            std::string err;
            for (const auto& line : process_->log_lines(stem_ + ".err")) err += line + "\n";
            ADD_FAILURE() << stem_ << " died on its own (" << (WIFSIGNALED(status) ? "signal " : "exit ")
                          << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)) << "); its .err:\n"
                          << err;
        }
    }

    std::string binary_;
    unsigned short port_;
    std::string state_dir_;
    std::string stem_;
    std::mutex mutex_;
    std::unique_ptr<DaemonProcess> process_;
    std::atomic<int> epoch_{0};
    std::atomic<bool> up_{false};
};

class ChaosTest : public NetnsTest {
protected:
    void SetUp() override {
        NetnsTest::SetUp();
        if (IsSkipped()) return;
        root_ = ::testing::TempDir() + "netd-chaos-" + std::to_string(getpid());
        std::filesystem::create_directories(root_);
        // Small enough to fill in a moment, large enough for a few hundred
        // intents and a compaction beside them.
        ASSERT_EQ(mount("tmpfs", root_.c_str(), "tmpfs", 0, "size=1m,mode=0700"), 0) << std::strerror(errno);
        mounted_ = true;
    }
    void TearDown() override {
        if (mounted_) umount2(root_.c_str(), MNT_DETACH);
        std::error_code ignored;
        std::filesystem::remove_all(root_, ignored);
    }

    // Takes every free byte of the tmpfs, or gives them back.
    void fill_disk() {
        std::ofstream filler(root_ + "/filler", std::ios::binary);
        std::string block(4096, 'x');
        while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) filler.flush();
    }
    void free_disk() { std::filesystem::remove(root_ + "/filler"); }

    std::string root_;
    bool mounted_ = false;
};

// A name or subnet each, from the kernel: tagged TUNs, and the IPv4
// subnets on lo:N labels or netdN dummy links.
std::set<std::string> kernel_tuns() {
    std::set<std::string> names;
    for (const auto& entry : ip_json("-d link show type tun")) names.insert(entry.value("ifname", ""));
    return names;
}

std::set<std::string> kernel_subnets() {
    std::set<std::string> networks;
    for (const auto& entry : ip_json("-4 addr show")) {
        auto device = entry.value("ifname", "");
        for (const auto& address : entry.value("addr_info", nlohmann::json::array())) {
            auto label = address.value("label", "");
            if (label.rfind("lo:", 0) != 0 && device.rfind("netd", 0) != 0) continue;
            auto cidr = address.value("local", "") + "/" + std::to_string(address.value("prefixlen", 0));
            networks.insert(net::InterfaceAddress::parse(cidr).network().to_string());
        }
    }
    return networks;
}

// GET of a listing, keyed as the ledger keys it, with each entry's range.
std::map<std::string, std::string> listing(Target& target) {
    HttpClient client("127.0.0.1", target.port());
    bool tun = target.name() == "tun_daemon";
    auto reply = client.get(tun ? "/tun" : "/subnet");
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::map<std::string, std::string> out;
    for (const auto& entry : reply.json()) {
        if (tun) {
            out[entry["name"]] = net::InterfaceAddress::parse(entry["ip_addr"].get<std::string>() + "/" +
                                                              std::to_string(entry["prefix_len"].get<int>()))
                                     .network()
                                     .to_string();
        } else {
            out[entry["network"]] = entry["network"];
        }
    }
    return out;
}

std::set<std::string> keys_of(const std::map<std::string, std::string>& listed) {
    std::set<std::string> keys;
    for (const auto& [key, range] : listed) keys.insert(key);
    return keys;
}

// One worker: a random mix of creates, deletes and listings against one
// daemon until `until`, recording every answer in the ledger.
void work(Target& target, Ledger& ledger, const std::atomic<bool>& disk_full, Clock::time_point until,
          unsigned seed, const std::string& prefix) {
    std::mt19937 random(seed);
    bool tun = target.name() == "tun_daemon";
    std::unique_ptr<HttpClient> client;
    int counter = 0;
    while (Clock::now() < until) {
        if (!target.up()) {
            client.reset();
            std::this_thread::sleep_for(5ms);
            continue;
        }
        int epoch = target.epoch();
        bool full = disk_full.load();
        std::string method, path, body, key;
        int dice = static_cast<int>(random() % 10);
        {
            std::lock_guard lock(ledger.mutex);
            if (dice < 3 && !ledger.acknowledged.empty()) {
                auto it = ledger.acknowledged.begin();
                std::advance(it, static_cast<long>(random() % ledger.acknowledged.size()));
                key = *it;
                ledger.acknowledged.erase(it); // no other worker deletes it meanwhile
                method = "DELETE";
                path = tun ? "/tun/" + key : "/subnet/" + key;
            } else if (dice < 8) {
                method = "POST";
                if (tun) {
                    key = prefix + std::to_string(counter++);
                    path = "/tun";
                    body = R"({"name":")" + key + "\"}";
                } else {
                    path = "/subnet";
                    body = R"({"prefix_len":26})";
                }
            } else {
                method = "GET";
                path = tun ? "/tun" : "/subnet";
            }
        }
        std::optional<HttpReply> reply;
        try {
            if (!client) client = std::make_unique<HttpClient>("127.0.0.1", target.port());
            reply = client->request(method, path, body, method == "POST" ? "application/json" : "");
        } catch (const std::exception& error) {
            client.reset();
            std::lock_guard lock(ledger.mutex);
            if (target.epoch() == epoch && target.up()) {
                ledger.failures.push_back(method + " " + path + ": the connection failed with the daemon up: " +
                                          error.what());
                std::this_thread::sleep_for(10ms); // a crash: check_alive names it; no need to hammer
            }
            // The answer was lost (to a kill, if not to a failure above): either outcome is allowed.
            if (method == "POST" && tun) ledger.uncertain.insert(key);
            if (method == "POST" && !tun) ++ledger.uncertain_creates;
            if (method == "DELETE") ledger.uncertain.insert(key);
            continue;
        }
        bool full_now = full || disk_full.load();
        std::lock_guard lock(ledger.mutex);
        auto status = reply->status;
        if (method == "POST" && status == 201) {
            ledger.acknowledged.insert(tun ? key : reply->json()["network"].get<std::string>());
        } else if (method == "DELETE" && status == 204) {
        } else if (status == 503 && full_now && method != "GET") {
            if (method == "POST" && tun) ledger.refused.insert(key);
            if (method == "DELETE") ledger.acknowledged.insert(key); // refused: it must still be there
        } else if (status != 200 || method != "GET") {
            if (method == "DELETE") ledger.acknowledged.insert(key);
            ledger.failures.push_back(method + " " + path + " " + body + " answered " + std::to_string(status) +
                                      (full_now ? " (disk full)" : "") + ": " + reply->body);
        }
    }
}

// What a round leaves must agree everywhere: the listing with the kernel,
// with the ledger, and with itself (no two ranges overlap).
void check_consistent(Target& tuns, Target& subnets, Ledger& tun_ledger, Ledger& subnet_ledger) {
    auto tun_list = listing(tuns);
    auto subnet_list = listing(subnets);
    EXPECT_EQ(keys_of(tun_list), kernel_tuns()) << "tun-daemon's listing is not the kernel's TUNs";
    EXPECT_EQ(keys_of(subnet_list), kernel_subnets()) << "subnet-daemon's listing is not the kernel's subnets";

    // Each promise is one check, naming what broke it.
    auto missing = [](const std::set<std::string>& wanted, const std::map<std::string, std::string>& listed) {
        std::string out;
        for (const auto& key : wanted) {
            if (!listed.count(key)) out += key + " ";
        }
        return out;
    };
    EXPECT_EQ(missing(tun_ledger.acknowledged, tun_list), "") << "acknowledged TUNs were lost";
    EXPECT_EQ(missing(subnet_ledger.acknowledged, subnet_list), "") << "acknowledged subnets were lost";
    std::string refused_but_there;
    for (const auto& name : tun_ledger.refused) {
        if (tun_list.count(name) || kernel_tuns().count(name)) refused_but_there += name + " ";
    }
    EXPECT_EQ(refused_but_there, "") << "TUNs refused with 503 exist";
    std::string never_acknowledged;
    for (const auto& [name, range] : tun_list) {
        if (!tun_ledger.acknowledged.count(name) && !tun_ledger.uncertain.count(name)) never_acknowledged += name + " ";
    }
    EXPECT_EQ(never_acknowledged, "") << "TUNs exist that were never acknowledged";
    std::size_t unacknowledged = 0;
    for (const auto& [network, range] : subnet_list) {
        unacknowledged += !subnet_ledger.acknowledged.count(network) && !subnet_ledger.uncertain.count(network);
    }
    EXPECT_LE(unacknowledged, static_cast<std::size_t>(subnet_ledger.uncertain_creates))
        << "subnets exist that were never acknowledged";

    std::vector<std::pair<std::string, net::Cidr>> ranges;
    for (const auto& [name, range] : tun_list) ranges.emplace_back(name, net::Cidr::parse(range));
    for (const auto& [name, range] : subnet_list) ranges.emplace_back(name, net::Cidr::parse(range));
    for (std::size_t a = 0; a < ranges.size(); ++a) {
        for (std::size_t b = a + 1; b < ranges.size(); ++b) {
            EXPECT_FALSE(ranges[a].second.overlaps(ranges[b].second))
                << ranges[a].first << " and " << ranges[b].first << " overlap";
        }
    }

    // From here on the listing is the truth to keep.
    for (auto* ledger : {&tun_ledger, &subnet_ledger}) {
        auto& listed = ledger == &tun_ledger ? tun_list : subnet_list;
        ledger->acknowledged = keys_of(listed);
        ledger->uncertain.clear();
        ledger->refused.clear();
        ledger->uncertain_creates = 0;
    }
}

// Cuts a journal short in the middle of a line, or glues garbage to it.
void damage_journal(const std::string& state_dir, std::mt19937& random) {
    auto path = state_dir + "/intents.jsonl";
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec || size < 4) return;
    if (random() % 2) {
        std::filesystem::resize_file(path, size / 2);
    } else {
        std::ofstream(path, std::ios::app) << "{\"put\":\"x\",\"rec";
    }
}

TEST_F(ChaosTest, BothDaemonsKeepTheirPromisesUnderLoadKillsAndAFullDisk) {
    const int rounds = env_or("NETD_CHAOS_ROUNDS", 3);
    const auto seconds = std::chrono::seconds(env_or("NETD_CHAOS_SECONDS", 3));
    const unsigned seed = static_cast<unsigned>(env_or("NETD_CHAOS_SEED", static_cast<int>(std::random_device{}())));
    std::cout << "chaos seed " << seed << " (NETD_CHAOS_SEED replays it)" << std::endl;
    std::mt19937 random(seed);

    Target tuns(NETD_TUN_DAEMON, tun_port, root_ + "/tun", "tun_daemon");
    Target subnets(NETD_SUBNET_DAEMON, subnet_port, root_ + "/subnet", "subnet_daemon");
    Ledger tun_ledger, subnet_ledger;
    tuns.start();
    subnets.start();
    ASSERT_FALSE(HasFailure());

    for (int round = 0; round < rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed));
        std::atomic<bool> disk_full{false};
        auto until = Clock::now() + seconds;
        std::vector<std::thread> workers;
        for (int w = 0; w < 2; ++w) {
            auto prefix = "c" + std::to_string(round) + std::string(1, static_cast<char>('a' + w));
            workers.emplace_back(work, std::ref(tuns), std::ref(tun_ledger), std::cref(disk_full), until,
                                 static_cast<unsigned>(random()), prefix);
            workers.emplace_back(work, std::ref(subnets), std::ref(subnet_ledger), std::cref(disk_full), until,
                                 static_cast<unsigned>(random()), prefix);
        }
        // The chaos: a kill -9 of either daemon and a restart, or the disk
        // filling up for a while, never both at once.
        while (Clock::now() + 300ms < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 300));
            if (random() % 3 == 0) {
                disk_full = true;
                fill_disk();
                std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 300));
                free_disk();
                std::this_thread::sleep_for(20ms); // answers to requests made while full
                disk_full = false;
            } else {
                auto& victim = random() % 2 ? tuns : subnets;
                std::this_thread::sleep_for(std::chrono::milliseconds(random() % 50));
                victim.kill9();
                victim.start();
            }
        }
        for (auto& worker : workers) worker.join();
        tuns.check_alive();
        subnets.check_alive();
        for (auto* ledger : {&tun_ledger, &subnet_ledger}) {
            // The first few say what went wrong; a flood of the same says nothing more.
            for (std::size_t i = 0; i < std::min<std::size_t>(ledger->failures.size(), 20); ++i) {
                ADD_FAILURE() << ledger->failures[i];
            }
            if (ledger->failures.size() > 20) ADD_FAILURE() << "and " << ledger->failures.size() - 20 << " more";
            ledger->failures.clear();
        }
        check_consistent(tuns, subnets, tun_ledger, subnet_ledger);
        auto tuns_before = listing(tuns);
        auto subnets_before = listing(subnets);

        // Between runs: a kill -9, a damaged journal, and a start that must
        // adopt everything from the kernel and write the journal anew.
        tuns.kill9();
        subnets.kill9();
        if (round % 2 == 0) {
            damage_journal(tuns.state_dir(), random);
            damage_journal(subnets.state_dir(), random);
        }
        tuns.start();
        subnets.start();
        EXPECT_EQ(listing(tuns), tuns_before) << "after a kill -9";
        EXPECT_EQ(listing(subnets), subnets_before) << "after a kill -9";

        // A reboot: the kernel forgets everything, and the journals alone
        // must bring back exactly what was listed.
        tuns.kill9();
        subnets.kill9();
        enter_new_netns();
        tuns.start();
        subnets.start();
        EXPECT_EQ(listing(tuns), tuns_before) << "after a reboot";
        EXPECT_EQ(listing(subnets), subnets_before) << "after a reboot";
        if (HasFailure()) break;
    }

    // Everything listed can be deleted, and then nothing of ours is left.
    HttpClient tun_client("127.0.0.1", tun_port);
    HttpClient subnet_client("127.0.0.1", subnet_port);
    for (const auto& [name, range] : listing(tuns)) EXPECT_EQ(tun_client.del("/tun/" + name).status, 204) << name;
    for (const auto& [network, range] : listing(subnets)) {
        EXPECT_EQ(subnet_client.del("/subnet/" + network).status, 204) << network;
    }
    EXPECT_TRUE(kernel_tuns().empty());
    EXPECT_TRUE(kernel_subnets().empty());
    tuns.kill9();
    subnets.kill9();
}

} // namespace
} // namespace netd::testing
