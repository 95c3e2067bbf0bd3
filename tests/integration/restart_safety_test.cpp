// Kernel state is the truth: the daemons survive kill -9, notice what others
// do behind their backs, never touch what is not theirs, and never hand out
// one range twice, even when both allocate at the same moment.

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netd/intents.hpp"
#include "netd/net/ip.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

class RestartSafetyTest : public NetnsTest {};

TEST_F(RestartSafetyTest, KillNineThenRestartAdoptsEverything) {
    auto tuns = start_tun_daemon();
    auto subnets = start_subnet_daemon();
    nlohmann::json tuns_before, subnets_before;
    {
        HttpClient tun_client("127.0.0.1", tun_port);
        HttpClient subnet_client("127.0.0.1", subnet_port);
        for (int i = 0; i < 3; ++i) {
            ASSERT_EQ(tun_client.post("/tun", "{}").status, 201);
            ASSERT_EQ(subnet_client.post("/subnet", "{}").status, 201);
        }
        tuns_before = tun_client.get("/tun").json();
        subnets_before = subnet_client.get("/subnet").json();
    }
    tuns->stop(SIGKILL);
    subnets->stop(SIGKILL);

    tuns = start_tun_daemon();
    subnets = start_subnet_daemon();
    HttpClient tun_client("127.0.0.1", tun_port);
    HttpClient subnet_client("127.0.0.1", subnet_port);
    EXPECT_EQ(tun_client.get("/tun").json(), tuns_before);
    EXPECT_EQ(subnet_client.get("/subnet").json(), subnets_before);

    // Six /24s are taken (10.0.0-5); the next of each kind gets a fresh one.
    EXPECT_EQ(tun_client.post("/tun", "{}").json()["ip_addr"], "10.0.6.1");
    EXPECT_EQ(subnet_client.post("/subnet", "{}").json()["network"], "10.0.7.0/24");
    EXPECT_EQ(ip_json("link show type tun").size(), 4u) << "a TUN was duplicated";
}

TEST_F(RestartSafetyTest, LinkDeletedBehindOurBackLeavesAtOnce) {
    auto tuns = start_tun_daemon();
    HttpClient client("127.0.0.1", tun_port);
    client.post("/tun", R"({"name":"a0"})");
    client.post("/tun", R"({"name":"b0"})");
    sh("ip link del a0");
    auto listed = client.get("/tun").json();
    ASSERT_EQ(listed.size(), 1u) << listed.dump();
    EXPECT_EQ(listed[0]["name"], "b0");
    // Its block is free again; the round-robin cursor reaches it after the rest.
    EXPECT_EQ(client.post("/tun", "{}").json()["ip_addr"], "10.0.2.1");
}

TEST_F(RestartSafetyTest, TheAllocationLockIsRootsAloneAndAHolderCannotStallTheDaemon) {
    if (std::system("setpriv --version >/dev/null 2>&1 && flock --version >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "setpriv and flock (util-linux) are needed";
    }
    auto dir = ::testing::TempDir() + "netd-lock-" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec); // 0755: others may look
    auto lock = dir + "/allocation.lock";
    DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, {"--lock-file", lock});
    struct stat status {};
    ASSERT_EQ(::stat(lock.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0600u);
    // Another user cannot even open it, so cannot hold it.
    EXPECT_NE(std::system(("setpriv --reuid=65534 --regid=65534 --clear-groups flock -n " + lock + " true 2>/dev/null")
                              .c_str()),
              0);

    // One who can (root, or a stuck process) delays a create by 2 s at most.
    ASSERT_EQ(std::system(("flock " + lock + " sleep 4 >/dev/null 2>&1 &").c_str()), 0);
    for (int i = 0; i < 100 && std::system(("flock -n " + lock + " true").c_str()) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    HttpClient client("127.0.0.1", tun_port);
    auto started = std::chrono::steady_clock::now();
    HttpReply refused;
    std::thread waiting([&] { refused = client.post("/tun", "{}"); });
    // While that create waits for the lock, the daemon serves everyone else
    // at once: the wait is a timer, not a blocked thread.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto asked = std::chrono::steady_clock::now();
    auto health = HttpClient("127.0.0.1", tun_port).get("/healthz");
    auto answered_in = std::chrono::steady_clock::now() - asked;
    auto listed = HttpClient("127.0.0.1", tun_port).get("/tun");
    waiting.join();
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(listed.status, 200);
    EXPECT_LT(answered_in, std::chrono::milliseconds(500)) << "/healthz waited behind the create";
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("allocation lock"), std::string::npos) << refused.body;
    EXPECT_GT(waited, std::chrono::milliseconds(1500)) << "the create gave up before 2 s";
    EXPECT_LT(waited, std::chrono::milliseconds(3500));
    EXPECT_TRUE(ip_json("link show type tun").empty()) << "a refused create left a TUN";
    // Once the holder lets go, creates work again.
    ASSERT_EQ(std::system(("flock " + lock + " true").c_str()), 0);
    EXPECT_EQ(client.post("/tun", "{}").status, 201);
    std::filesystem::remove_all(dir);
}

// Whoever may write the lock's directory could swap the lock for another
// file, and two daemons would take the same block: a directory of another
// user, or one others may write (even sticky, as /tmp), is refused at start
// and left as it was.
TEST_F(RestartSafetyTest, TheLocksDirectoryIsTheDaemonsAlone) {
    auto dir = ::testing::TempDir() + "netd-lockdir-" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto start = [&] {
        return run_to_exit(NETD_TUN_DAEMON, {"--log-dir", ::testing::TempDir(), "--lock-file", dir + "/allocation.lock"});
    };
    ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
    auto run = start();
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.stderr_text.find("the directory of the lock file " + dir + "/allocation.lock belongs to uid 65534"),
              std::string::npos)
        << run.stderr_text;

    ASSERT_EQ(::chown(dir.c_str(), 0, 0), 0);
    for (mode_t mode : {01777, 0777, 0770}) {
        ASSERT_EQ(::chmod(dir.c_str(), mode), 0);
        run = start();
        EXPECT_EQ(run.exit_code, 1) << std::oct << mode;
        EXPECT_NE(run.stderr_text.find("is writable by others"), std::string::npos) << run.stderr_text;
        struct stat status {};
        ASSERT_EQ(::stat(dir.c_str(), &status), 0);
        EXPECT_EQ(status.st_mode & 07777, mode) << "the daemon changed a directory not its own to change";
        EXPECT_FALSE(std::filesystem::exists(dir + "/allocation.lock"));
    }

    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
    DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, {"--lock-file", dir + "/allocation.lock"});
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).post("/tun", "{}").status, 201);
    tuns.stop(SIGTERM);
    std::filesystem::remove_all(dir);
}

TEST_F(RestartSafetyTest, ARestartDoesNotBringBackWhatWasRemovedBehindItsBack) {
    auto state = ::testing::TempDir() + "netd-behind-" + std::to_string(getpid());
    std::filesystem::remove_all(state);
    std::vector<std::string> args{"--state-dir", state};
    {
        DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, args);
        HttpClient client("127.0.0.1", tun_port);
        ASSERT_EQ(client.post("/tun", R"({"name":"a0"})").status, 201);
        ASSERT_EQ(client.post("/tun", R"({"name":"b0"})").status, 201);
        tuns.stop(SIGKILL);
    }
    sh("ip link del a0");
    {
        // The same kernel: it is the truth, and a0 stays gone, journal and all.
        DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, args);
        auto listed = HttpClient("127.0.0.1", tun_port).get("/tun").json();
        ASSERT_EQ(listed.size(), 1u) << listed.dump();
        EXPECT_EQ(listed[0]["name"], "b0");
        EXPECT_FALSE(link("a0")) << "a restart recreated what was removed behind its back";
        tuns.stop(SIGKILL);
    }
    enter_new_netns(); // a reboot brings back b0 alone
    DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, args);
    auto listed = HttpClient("127.0.0.1", tun_port).get("/tun").json();
    ASSERT_EQ(listed.size(), 1u) << listed.dump();
    EXPECT_EQ(listed[0]["name"], "b0");
    std::filesystem::remove_all(state);
}

TEST_F(RestartSafetyTest, ForeignInterfacesSurviveEveryCall) {
    sh("ip tuntap add dev tun0 mode tun");
    sh("ip addr add 10.0.0.1/24 dev tun0");
    sh("ip addr add 10.1.0.1/24 dev lo label lo:0");
    auto foreign_before = ip_json("-4 addr show").dump();
    {
        auto tuns = start_tun_daemon();
        auto subnets = start_subnet_daemon();
        HttpClient tun_client("127.0.0.1", tun_port);
        HttpClient subnet_client("127.0.0.1", subnet_port);
        EXPECT_EQ(tun_client.post("/tun", "{}").json()["name"], "tun1");
        EXPECT_EQ(tun_client.post("/tun", R"({"name":"tun0"})").status, 409);
        EXPECT_EQ(tun_client.del("/tun/tun0").status, 404);
        EXPECT_EQ(subnet_client.del("/subnet/10.1.0.0%2F24").status, 404);
        EXPECT_EQ(subnet_client.post("/subnet", R"({"cidr":"10.1.0.0/24"})").status, 409);
        EXPECT_EQ(subnet_client.post("/subnet", "{}").status, 201);
        EXPECT_EQ(tun_client.del("/tun/tun1").status, 204);
        tuns->stop(SIGKILL);
        subnets->stop(SIGTERM);
    }
    auto after = ip_json("-4 addr show").dump();
    for (const auto* address : {"\"10.0.0.1\"", "\"10.1.0.1\""}) {
        EXPECT_NE(after.find(address), std::string::npos) << address << " is gone";
    }
    EXPECT_TRUE(link("tun0"));
}

TEST_F(RestartSafetyTest, HalfMadeInterfaceIsRemovedAtStart) {
    // What a kill -9 between creating a TUN and addressing it leaves.
    sh("ip tuntap add dev tun5 mode tun");
    sh("ip link set tun5 alias netd:tun-daemon");
    sh("ip tuntap add dev tun6 mode tun"); // not ours: no tag
    auto tuns = start_tun_daemon();
    EXPECT_FALSE(link("tun5"));
    EXPECT_TRUE(link("tun6"));
    tuns->stop(SIGTERM);
    auto [log, err] = tuns->expect_log_split("tun_daemon");
    EXPECT_NE(err.find("removed tun5"), std::string::npos) << err;
}

TEST_F(RestartSafetyTest, ConcurrentAllocationsAcrossBothDaemonsNeverOverlap) {
    auto tuns = start_tun_daemon();
    auto subnets = start_subnet_daemon();
    constexpr int per_daemon = 25;
    std::vector<std::string> networks(2 * per_daemon);
    std::vector<int> statuses(2 * per_daemon);
    std::vector<std::thread> clients;
    for (int i = 0; i < 2 * per_daemon; ++i) {
        clients.emplace_back([i, &networks, &statuses] {
            bool tun = i % 2 == 0;
            HttpClient client("127.0.0.1", tun ? tun_port : subnet_port);
            auto reply = tun ? client.post("/tun", "{}") : client.post("/subnet", "{}");
            statuses[i] = reply.status;
            if (reply.status != 201) return;
            networks[i] = tun ? reply.json()["ip_addr"].get<std::string>() + "/24"
                              : reply.json()["network"].get<std::string>();
        });
    }
    for (auto& client : clients) client.join();

    std::vector<net::Cidr> blocks;
    for (int i = 0; i < 2 * per_daemon; ++i) {
        ASSERT_EQ(statuses[i], 201) << "request " << i;
        blocks.push_back(net::InterfaceAddress::parse(networks[i]).network());
    }
    for (std::size_t a = 0; a < blocks.size(); ++a) {
        for (std::size_t b = a + 1; b < blocks.size(); ++b) {
            EXPECT_FALSE(blocks[a].overlaps(blocks[b])) << blocks[a].to_string() << " and " << blocks[b].to_string();
        }
    }
    EXPECT_EQ(ip_json("link show type tun").size(), static_cast<std::size_t>(per_daemon));
    HttpClient tun_client("127.0.0.1", tun_port);
    HttpClient subnet_client("127.0.0.1", subnet_port);
    EXPECT_EQ(tun_client.get("/tun").json().size(), static_cast<std::size_t>(per_daemon));
    EXPECT_EQ(subnet_client.get("/subnet").json().size(), static_cast<std::size_t>(per_daemon));
}

} // namespace
} // namespace netd::testing

namespace netd::testing {
namespace {

TEST_F(RestartSafetyTest, RestoreRecreatesEverythingAfterAReboot) {
    auto state = ::testing::TempDir() + "netd-reboot-" + std::to_string(getpid());
    std::filesystem::remove_all(state);
    std::vector<std::string> tun_args{"--state-dir", state + "/tun"}, subnet_args{"--state-dir", state + "/subnet"};
    nlohmann::json tuns_before, subnets_before;
    {
        DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, tun_args);
        DaemonProcess subnets(NETD_SUBNET_DAEMON, subnet_port, subnet_args);
        HttpClient tun_client("127.0.0.1", tun_port);
        HttpClient subnet_client("127.0.0.1", subnet_port);
        tun_client.post("/tun", R"({"name":"keep0","owner":"nobody"})");
        tun_client.post("/tun", R"({"name":"drop0"})");
        tun_client.post("/tun", R"({"mtu":9000,"multi_queue":true,"prefix_len":28,"routes":["10.200.0.0/16"],
                                   "extra_addresses":["192.168.7.1/24"]})");
        ASSERT_EQ(tun_client.del("/tun/drop0").status, 204);
        subnet_client.post("/subnet", R"({"cidr":"10.7.0.0/16"})");
        subnet_client.post("/subnet", R"({"prefix_len":28})");
        tuns_before = tun_client.get("/tun").json();
        subnets_before = subnet_client.get("/subnet").json();
        tuns.stop(SIGTERM);
        subnets.stop(SIGKILL);
    }
    enter_new_netns(); // a reboot: the kernel has forgotten everything
    ASSERT_TRUE(ip_json("link show type tun").empty());

    DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, tun_args);
    DaemonProcess subnets(NETD_SUBNET_DAEMON, subnet_port, subnet_args);
    HttpClient tun_client("127.0.0.1", tun_port);
    HttpClient subnet_client("127.0.0.1", subnet_port);
    EXPECT_EQ(tun_client.get("/tun").json(), tuns_before);
    EXPECT_EQ(subnet_client.get("/subnet").json(), subnets_before);
    EXPECT_FALSE(link("drop0")) << "a deleted TUN came back";

    // --no-restore leaves the kernel as it is.
    tuns.stop(SIGTERM);
    enter_new_netns();
    tun_args.push_back("--no-restore");
    DaemonProcess bare(NETD_TUN_DAEMON, tun_port, tun_args);
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").json(), nlohmann::json::array());
    std::filesystem::remove_all(state);
}

TEST_F(RestartSafetyTest, AStateFileOfVersionOneIsTakenOver) {
    auto state = ::testing::TempDir() + "netd-legacy-" + std::to_string(getpid());
    std::filesystem::remove_all(state);
    std::filesystem::create_directories(state);
    std::ofstream(state + "/state.json") << "{\n  \"intents\": {\n    \"old0\": {\n"
                                            "      \"address\": \"10.0.9.1/24\"\n    }\n  },\n  \"version\": 1\n}\n";
    DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, {"--state-dir", state});
    auto listed = HttpClient("127.0.0.1", tun_port).get("/tun").json();
    ASSERT_EQ(listed.size(), 1u) << listed.dump();
    EXPECT_EQ(listed[0]["name"], "old0");
    EXPECT_EQ(listed[0]["ip_addr"], "10.0.9.1");
    EXPECT_FALSE(std::filesystem::exists(state + "/state.json"));
    std::ifstream journal(state + "/intents.jsonl");
    std::string snapshot;
    std::getline(journal, snapshot);
    EXPECT_EQ(nlohmann::json::parse(snapshot)["version"], Intents::format_version) << "not in this version's form: "
                                                                                  << snapshot;
    std::filesystem::remove_all(state);
}

TEST_F(RestartSafetyTest, CorruptStateNeverBlocksTheStart) {
    auto state = ::testing::TempDir() + "netd-corrupt-" + std::to_string(getpid());
    std::filesystem::create_directories(state);
    std::ofstream(state + "/state.json") << "{\"version\": 1, \"intents\": {\"tun0\": ";
    DaemonProcess tuns(NETD_TUN_DAEMON, tun_port, {"--state-dir", state});
    HttpClient client("127.0.0.1", tun_port);
    EXPECT_EQ(client.post("/tun", "{}").status, 201) << "the daemon does not work after a corrupt state file";
    tuns.stop(SIGTERM);
    auto [log, err] = tuns.expect_log_split("tun_daemon");
    EXPECT_NE(err.find("the state file is unusable"), std::string::npos) << err;
    bool set_aside = false;
    for (const auto& entry : std::filesystem::directory_iterator(state)) {
        set_aside |= entry.path().filename().string().rfind("intents.jsonl.corrupt-", 0) == 0;
    }
    EXPECT_TRUE(set_aside) << "the corrupt file was not kept for inspection";
    std::filesystem::remove_all(state);
}

} // namespace
} // namespace netd::testing
