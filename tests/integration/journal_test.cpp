// Never crash, never lie, never lose intent: the journal against kill -9
// between two kernel calls, a full disk, and a lost or damaged state file.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "kernel_view.hpp"
#include "netd/net/ip.hpp"
#include "netns.hpp"

namespace netd::testing {
namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class JournalTest : public NetnsTest {
protected:
    void SetUp() override {
        NetnsTest::SetUp();
        if (IsSkipped()) return;
        state = ::testing::TempDir() + "netd-journal-" + std::to_string(getpid());
        std::filesystem::remove_all(state);
        std::filesystem::create_directories(state);
    }
    void TearDown() override {
        if (state.empty()) return;
        umount2(state.c_str(), MNT_DETACH); // the full-disk test's tmpfs, if an assertion left it mounted
        std::error_code ignored;
        std::filesystem::remove_all(state, ignored);
    }

    std::unique_ptr<DaemonProcess> start(std::vector<std::string> extra = {}) {
        extra.insert(extra.begin(), {"--state-dir", state});
        return std::make_unique<DaemonProcess>(NETD_TUN_DAEMON, tun_port, extra);
    }

    // Every TUN in the namespace carries tun-daemon's tag: none is unowned.
    void expect_no_untagged_tun(const std::string& when) {
        for (const auto& tun : ip_json("-d link show type tun")) {
            EXPECT_EQ(tun.value("ifalias", ""), "netd:tun-daemon") << when << ": " << tun.dump();
        }
    }

    std::string state;
};

// kill -9 between the kernel calls of a create, made deterministic by the
// daemon's test-only NETD_TEST_CRASH_AT: "tagged" is after TUNSETIFF and
// the tag but before TUNSETPERSIST, "persistent" after it but before the
// address. The journal has the create as begun; the next start drops it
// (and the backend removes the half-made link), and the name is free again.
TEST_F(JournalTest, KillNineInsideACreateLeavesNothingUnowned) {
    for (const std::string step : {"tagged", "persistent"}) {
        for (const std::string name : {"crash0", "tun0"}) { // asked for by name, and named by the daemon
            SCOPED_TRACE(step + " " + name);
            auto body = name == "tun0" ? std::string("{}") : R"({"name":")" + name + "\"}";
            setenv("NETD_TEST_CRASH_AT", step.c_str(), 1);
            auto dying = start();
            unsetenv("NETD_TEST_CRASH_AT");
            EXPECT_ANY_THROW(HttpClient("127.0.0.1", tun_port).post("/tun", body)) << "the daemon did not die";
            EXPECT_EQ(dying->stop(SIGKILL), 128 + SIGKILL);
            // Until TUNSETPERSIST the TUN goes with the daemon's descriptor.
            EXPECT_EQ(ip_json("link show type tun").size(), step == "persistent" ? 1u : 0u);
            expect_no_untagged_tun("after the crash");
            auto journal = read_all(state + "/intents.jsonl");
            // A begin line, or the snapshot's pending entries when the begin was the first change.
            EXPECT_TRUE(journal.find(R"({"begin":")" + name + "\"") != std::string::npos ||
                        journal.find(R"("pending":{")" + name + "\"") != std::string::npos)
                << "the create was not journaled before the kernel heard of it: " << journal;

            auto tuns = start();
            EXPECT_FALSE(link(name)) << "a half-made TUN survived the restart";
            HttpClient client("127.0.0.1", tun_port);
            EXPECT_EQ(client.get("/tun").json(), nlohmann::json::array());
            auto reply = client.post("/tun", body);
            EXPECT_EQ(reply.status, 201) << "the name is still taken: " << reply.body;
            EXPECT_EQ(reply.json().value("name", ""), name);
            EXPECT_EQ(client.del("/tun/" + name).status, 204);
            tuns->stop(SIGTERM);
            journal = read_all(state + "/intents.jsonl");
            EXPECT_TRUE(journal.find("\"pending\"") == std::string::npos ||
                        journal.find(R"({"abandon":")" + name + "\"}") != std::string::npos)
                << "the interrupted create is still pending: " << journal;
            auto log = read_all(tuns->log_dir() + "/tun_daemon.log");
            EXPECT_NE(log.find("dropped the create of " + name), std::string::npos) << log;
        }
    }
}

// The same after the address, where the kernel keeps the TUN: "addressed"
// is before the extra addresses, the mark's rules and the routes, "ruled"
// between the rules and the routes. The TUN has an address but not all it
// was asked, the POST was never answered: the next start removes it with
// whatever rules it had, rather than adopt half of it.
TEST_F(JournalTest, KillNineAfterTheAddressLeavesNothingHalfMade) {
    const std::string body =
        R"({"name":"crash1","extra_addresses":["10.66.0.1/32"],"routes":["10.77.0.0/24"],)"
        R"("mark":{"value":77,"table":177}})";
    auto rules_of_table = [] {
        int count = 0;
        for (const auto& rule : ip_json("rule show")) count += rule.value("table", "") == "177";
        return count;
    };
    for (const std::string step : {"addressed", "ruled"}) {
        SCOPED_TRACE(step);
        setenv("NETD_TEST_CRASH_AT", step.c_str(), 1);
        auto dying = start();
        unsetenv("NETD_TEST_CRASH_AT");
        EXPECT_ANY_THROW(HttpClient("127.0.0.1", tun_port).post("/tun", body)) << "the daemon did not die";
        EXPECT_EQ(dying->stop(SIGKILL), 128 + SIGKILL);
        ASSERT_TRUE(link("crash1")) << "the kernel should still hold the addressed TUN";
        if (step == "ruled") {
            EXPECT_GT(rules_of_table(), 0) << "the crash came after the mark's rules";
        }

        auto restarted = start();
        EXPECT_FALSE(link("crash1")) << "a half-made TUN survived the restart";
        EXPECT_EQ(rules_of_table(), 0) << "its mark's rules survived the restart";
        EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").json(), nlohmann::json::array());
        restarted->stop(SIGTERM);
        // Nor is it in the journal: a reboot (a new namespace) brings nothing back.
        enter_new_netns();
        auto tuns = start();
        HttpClient client("127.0.0.1", tun_port);
        EXPECT_EQ(client.get("/tun").json(), nlohmann::json::array()) << "the journal kept the half-made create";
        auto reply = client.post("/tun", body);
        ASSERT_EQ(reply.status, 201) << reply.body;
        EXPECT_EQ(reply.json()["routes"], nlohmann::json::array({"10.77.0.0/24"}));
        EXPECT_EQ(reply.json()["mark"]["table"], 177);
        EXPECT_EQ(client.del("/tun/crash1").status, 204);
        tuns->stop(SIGTERM);
        auto log = read_all(restarted->log_dir() + "/tun_daemon.log");
        EXPECT_NE(log.find("dropped the create of crash1, which a crash interrupted before it was whole"),
                  std::string::npos)
            << log;
    }
}

// A state directory on a tmpfs of its own (in a mount namespace of the
// test's), filled up: each POST either makes its TUN and journals it (201)
// or does neither (503), and a DELETE that cannot be journaled deletes
// nothing. /healthz says "degraded" until a write succeeds again.
TEST_F(JournalTest, AFullDiskAnswers503AndChangesNothing) {
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("netd-test", state.c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0) {
        GTEST_SKIP() << "cannot mount a small tmpfs in a mount namespace of the test's: " << std::strerror(errno);
    }
    auto tuns = start();
    HttpClient client("127.0.0.1", tun_port);
    ASSERT_EQ(client.post("/tun", R"({"name":"keep0"})").status, 201);
    DaemonProcess subnets(NETD_SUBNET_DAEMON, subnet_port, {"--state-dir", state + "/subnet"});
    HttpClient subnet_client("127.0.0.1", subnet_port);
    {
        std::ofstream filler(state + "/filler", std::ios::binary);
        std::string block(4096, 'x');
        while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
        }
    }
    // Appends land in the journal's last page until it is full; then
    // every write fails.
    int made = 0;
    HttpReply refused;
    for (int n = 0; n < 200; ++n) {
        auto reply = client.post("/tun", "{}");
        if (reply.status == 201) {
            ++made;
            continue;
        }
        refused = reply;
        break;
    }
    ASSERT_EQ(refused.status, 503) << refused.body;
    auto error = refused.json()["error"];
    EXPECT_EQ(error["code"], "unavailable");
    EXPECT_NE(error["message"].get<std::string>().find("No space left on device"), std::string::npos) << error;
    auto listed = client.get("/tun").json();
    EXPECT_EQ(listed.size(), static_cast<std::size_t>(made + 1));
    EXPECT_EQ(ip_json("link show type tun").size(), listed.size()) << "a TUN the journal lacks is in the kernel";
    EXPECT_FALSE(link("tun" + std::to_string(made))) << "the refused create left its TUN";

    EXPECT_EQ(client.del("/tun/keep0").status, 503);
    EXPECT_TRUE(link("keep0")) << "a DELETE the journal could not record deleted the TUN";
    // subnet-daemon's first change writes its journal's first snapshot: a new file.
    EXPECT_EQ(subnet_client.post("/subnet", R"({"cidr":"10.9.0.0/24"})").status, 503);
    EXPECT_EQ(ip_json("-4 addr show").dump().find("10.9.0.1"), std::string::npos)
        << "a subnet the journal could not record is on the host";

    auto health = client.get("/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.json()["status"], "degraded") << health.body;
    EXPECT_NE(health.body.find("No space left on device"), std::string::npos) << health.body;
    auto metrics = client.get("/metrics").body;
    auto counter = metrics.find("# TYPE netd_journal_write_failures_total counter\nnetd_journal_write_failures_total ");
    ASSERT_NE(counter, std::string::npos) << metrics;
    auto failures = std::stoi(metrics.substr(metrics.find('\n', counter) + 1).substr(34));
    EXPECT_GE(failures, 2) << "the refused POST and DELETE were not counted";

    std::filesystem::remove(state + "/filler");
    EXPECT_EQ(subnet_client.post("/subnet", R"({"cidr":"10.9.0.0/24"})").status, 201);
    subnets.stop(SIGTERM);
    EXPECT_EQ(client.del("/tun/keep0").status, 204);
    EXPECT_FALSE(link("keep0"));
    EXPECT_EQ(client.get("/healthz").json()["status"], "ok");
    tuns->stop(SIGTERM);

    // What the journal holds is exactly what the kernel has.
    enter_new_netns();
    auto restored = start();
    EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").json().size(), static_cast<std::size_t>(made));
    restored->stop(SIGTERM);
}

// A journal set aside as corrupt, or lost, while TUNs exist: the start
// journals what it adopted, so that a reboot still brings them back.
TEST_F(JournalTest, ALostOrDamagedJournalIsRebuiltFromTheKernel) {
    for (const std::string damage : {"corrupt", "missing"}) {
        SCOPED_TRACE(damage);
        enter_new_netns();
        nlohmann::json before;
        {
            auto tuns = start();
            HttpClient client("127.0.0.1", tun_port);
            ASSERT_EQ(client.post("/tun", R"({"name":"a0","mtu":9000,"routes":["10.200.0.0/16"]})").status, 201);
            ASSERT_EQ(client.post("/tun", R"({"name":"b0","owner":"nobody","ipv6":true})").status, 201);
            before = client.get("/tun").json();
            tuns->stop(SIGKILL);
        }
        if (damage == "corrupt") {
            std::ofstream(state + "/intents.jsonl") << "{\"version\":3,\"intents\":{\"a0\":";
        } else {
            std::filesystem::remove(state + "/intents.jsonl");
        }
        start()->stop(SIGTERM); // adopts a0 and b0, and journals them

        enter_new_netns(); // a reboot
        auto tuns = start();
        EXPECT_EQ(HttpClient("127.0.0.1", tun_port).get("/tun").json(), before);
        tuns->stop(SIGTERM);
        for (const auto& entry : std::filesystem::directory_iterator(state)) {
            if (entry.path().filename().string().starts_with("intents.jsonl.corrupt-")) {
                std::filesystem::remove(entry.path());
            }
        }
        std::filesystem::remove(state + "/intents.jsonl");
    }
}

// <state-dir>/pool6 damaged or lost while TUNs with IPv6 exist: the pool is
// read back from their addresses, never a new one drawn, and the start goes on.
TEST_F(JournalTest, TheIpv6PoolIsRecoveredFromTheKernel) {
    std::string prefix6;
    {
        auto tuns = start();
        auto reply = HttpClient("127.0.0.1", tun_port).post("/tun", R"({"name":"six0","ipv6":true})");
        ASSERT_EQ(reply.status, 201) << reply.body;
        prefix6 = reply.json()["prefix6"];
        tuns->stop(SIGTERM);
    }
    auto pool = net::Cidr::containing(net::Cidr::parse(prefix6).network(), 48).to_string();
    EXPECT_EQ(read_all(state + "/pool6"), pool + "\n");
    for (const std::string damage : {"not a cidr\n", "", "10.0.0.0/8\n", "missing"}) {
        SCOPED_TRACE(damage);
        if (damage == "missing") {
            std::filesystem::remove(state + "/pool6");
        } else {
            std::ofstream(state + "/pool6") << damage;
        }
        auto tuns = start();
        HttpClient client("127.0.0.1", tun_port);
        auto reply = client.post("/tun", R"({"ipv6":true})");
        ASSERT_EQ(reply.status, 201) << reply.body;
        auto address6 = net::Cidr::parse(reply.json()["prefix6"].get<std::string>());
        EXPECT_TRUE(net::Cidr::parse(pool).contains(address6.network())) << address6.to_string() << " not in " << pool;
        EXPECT_EQ(client.del("/tun/" + reply.json()["name"].get<std::string>()).status, 204);
        tuns->stop(SIGTERM);
        auto [log, err] = tuns->expect_log_split("tun_daemon");
        EXPECT_NE(err.find("recovered the IPv6 pool " + pool), std::string::npos) << err;
        EXPECT_EQ(read_all(state + "/pool6"), pool + "\n");
    }
}

} // namespace
} // namespace netd::testing
