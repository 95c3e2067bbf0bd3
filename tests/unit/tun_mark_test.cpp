#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "netd/error.hpp"
#include "netd/tun/routes.hpp"
#include "netd/tun_mark.hpp"
#include "netd/tun_service.hpp"

// "mark" (policy routing): its parsing and validation, its conflicts, and
// its journaling, through the fakes (its restore after a reboot is with the
// other restores, in tun_service_test.cpp).
namespace netd {
namespace {

using net::Cidr;

// The code and message of what `call` throws; nullopt when it throws nothing.
std::optional<Error> error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const Error& error) {
        return error;
    }
    return std::nullopt;
}

TEST(TunMark, ParsesAndValidatesTheObject) {
    struct Case {
        const char* json;
        std::optional<TunMark> parsed; // nullopt: refused as invalid
        const char* names = "";         // what the message must name
    };
    for (const auto& c : std::vector<Case>{
             {R"({"value":1,"table":1})", TunMark{1, 1}},
             {R"({"value":100,"table":100})", TunMark{100, 100}},
             {R"({"table":4294967295,"value":4294967295})", TunMark{0xffffffffu, 0xffffffffu}},
             {R"({"value":7,"table":252})", TunMark{7, 252}},
             {R"({"value":7,"table":256})", TunMark{7, 256}},
             {R"({"value":0,"table":100})", std::nullopt, "\"mark.value\""},
             {R"({"value":-1,"table":100})", std::nullopt, "\"mark.value\""},
             {R"({"value":4294967296,"table":100})", std::nullopt, "\"mark.value\""},
             {R"({"value":1.5,"table":100})", std::nullopt, "\"mark.value\" must be an integer"},
             {R"({"value":"1","table":100})", std::nullopt, "\"mark.value\" must be an integer"},
             {R"({"value":true,"table":100})", std::nullopt, "\"mark.value\""},
             {R"({"table":100})", std::nullopt, "\"mark.value\" is required"},
             {R"({"value":null,"table":100})", std::nullopt, "\"mark.value\" is required"},
             {R"({"value":1})", std::nullopt, "\"mark.table\" is required"},
             {R"({"value":1,"table":0})", std::nullopt, "\"mark.table\""},
             {R"({"value":1,"table":253})", std::nullopt, "\"mark.table\""},
             {R"({"value":1,"table":254})", std::nullopt, "\"mark.table\""},
             {R"({"value":1,"table":255})", std::nullopt, "\"mark.table\""},
             {R"({"value":1,"table":-5})", std::nullopt, "\"mark.table\""},
             {R"({"value":1,"table":4294967296})", std::nullopt, "\"mark.table\""},
             {R"({"value":1,"table":100,"mask":255})", std::nullopt, "unknown field \"mark.mask\""},
             {R"({})", std::nullopt, "\"mark.value\" is required"},
             {R"(100)", std::nullopt, "field \"mark\" must be an object"},
             {R"([1,100])", std::nullopt, "field \"mark\" must be an object"},
             {R"("fwmark 1")", std::nullopt, "field \"mark\" must be an object"},
         }) {
        auto json = nlohmann::json::parse(c.json);
        if (c.parsed) {
            EXPECT_EQ(mark_from_json(json), *c.parsed) << c.json;
            EXPECT_EQ(mark_from_json(to_json(*c.parsed)), *c.parsed) << c.json << " does not round-trip";
            continue;
        }
        auto error = error_of([&] { mark_from_json(json); });
        ASSERT_TRUE(error) << c.json << " was taken";
        EXPECT_EQ(error->code(), ErrorCode::invalid) << c.json;
        EXPECT_NE(std::string(error->what()).find(c.names), std::string::npos) << c.json << ": " << error->what();
    }
}

TEST(TunMark, ReservedTablesAreTheKernels) {
    for (std::uint32_t table : {0u, 253u, 254u, 255u}) EXPECT_TRUE(is_reserved_table(table)) << table;
    for (std::uint32_t table : {1u, 100u, 252u, 256u, 0xffffffffu}) EXPECT_FALSE(is_reserved_table(table)) << table;
}

class TunMarkServiceTest : public ::testing::Test {
protected:
    testing::FakeKernel kernel;
    testing::FakeTunBackend backend{kernel};
    testing::FakeIntentStore store;
    std::string problem;
    Intents intents{store, problem};
    TunService tuns{backend, kernel, intents, Cidr::parse("10.0.0.0/8"), Cidr::parse("fd00:1::/48")};

    static TunSpec marked(const char* name, TunMark mark, std::vector<Cidr> routes = {Cidr::parse("10.200.0.0/16")}) {
        return {.name = name, .routes = std::move(routes), .mark = mark};
    }
};

TEST_F(TunMarkServiceTest, CreateRefusesWhatItCannotDo) {
    kernel.foreign_marks = {{42, "the IPv4 rule \"fwmark 42 lookup 42\" (priority 100), not ours"}};
    kernel.foreign_tables = {{77, "it holds the route 10.7.0.0/16 on eth0, not ours"}};
    tuns.create(marked("first", {10, 10}));
    struct Case {
        const char* label;
        TunSpec spec;
        bool marks = true; // the OS routes by fwmark
        ErrorCode code;
        const char* message;
    };
    for (auto& c : std::vector<Case>{
             {"no routes", marked("a", {11, 11}, {}), true, ErrorCode::invalid, "\"mark\" needs \"routes\""},
             {"value 0", marked("a", {0, 11}), true, ErrorCode::invalid, "\"mark.value\""},
             {"main table", marked("a", {11, 254}), true, ErrorCode::invalid, "\"mark.table\""},
             {"local table", marked("a", {11, 255}), true, ErrorCode::invalid, "\"mark.table\""},
             {"macOS", marked("a", {11, 11}), false, ErrorCode::invalid, "\"mark\" is Linux only"},
             {"foreign rule's mark", marked("a", {42, 11}), true, ErrorCode::conflict, "fwmark 42 is taken"},
             {"foreign table", marked("a", {11, 77}), true, ErrorCode::conflict, "table 77 is taken: it holds"},
             {"another TUN's mark", marked("a", {10, 11}), true, ErrorCode::conflict, "the mark of first"},
             {"another TUN's table", marked("a", {11, 10}), true, ErrorCode::conflict, "table 10 is taken"},
             {"routes overlapping each other", marked("a", {11, 11}, {Cidr::parse("10.9.0.0/16"), Cidr::parse("10.9.1.0/24")}),
              true, ErrorCode::conflict, "of the same request"},
         }) {
        backend.marks = c.marks;
        auto error = error_of([&] { tuns.create(c.spec); });
        ASSERT_TRUE(error) << c.label << " was created";
        EXPECT_EQ(error->code(), c.code) << c.label << ": " << error->what();
        EXPECT_NE(std::string(error->what()).find(c.message), std::string::npos) << c.label << ": " << error->what();
        EXPECT_FALSE(kernel.tuns.contains("a")) << c.label;
        EXPECT_TRUE(intents.pending().empty()) << c.label << " left a create begun";
    }
    EXPECT_EQ(tuns.list().size(), 1u);
}

// A mark's routes go in its own table, which serves only marked traffic:
// they hold none of the main table's space, so a host route they overlap
// is no conflict, and neither is another TUN's marked route.
TEST_F(TunMarkServiceTest, MarkedRoutesHoldNoMainTableSpace) {
    kernel.foreign = {{Cidr::parse("10.200.0.0/16"), "the route 10.200.0.0/16 on eth0"}};
    auto tun = tuns.create(marked("vpn0", {100, 100}));
    EXPECT_EQ(tun.mark, (TunMark{100, 100}));
    EXPECT_EQ(tun.routes, std::vector{Cidr::parse("10.200.0.0/16")});
    EXPECT_NO_THROW(tuns.create(marked("vpn1", {101, 101})));
    auto error = error_of([&] { tuns.create({.name = "plain", .routes = {Cidr::parse("10.200.0.0/16")}}); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), ErrorCode::conflict) << "an unmarked route still goes in main";

    auto json = to_json(tuns.get("vpn0"));
    EXPECT_EQ(json.at("mark"), (nlohmann::json{{"value", 100}, {"table", 100}}));
    EXPECT_FALSE(to_json(tuns.create({.name = "bare"})).contains("mark"));
}

// A TUN adopted from the kernel (its journal lost) is journaled with the
// mark the kernel has.
TEST_F(TunMarkServiceTest, ReconcileJournalsTheKernelsMark) {
    kernel.tuns["vpn0"] = {"vpn0", net::InterfaceAddress::parse("10.0.0.1/24"), {}, 0u, {}, 1500, false, {},
                           {Cidr::parse("10.200.0.0/16")}, TunMark{5, 50}};
    tuns.reconcile();
    EXPECT_EQ(intents.records().at("vpn0").at("mark"), (nlohmann::json{{"value", 5}, {"table", 50}}));
}

} // namespace
} // namespace netd
