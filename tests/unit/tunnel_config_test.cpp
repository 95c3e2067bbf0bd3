#include <gtest/gtest.h>

#include "case_name.hpp"
#include "netd/tunnel_config.hpp"

namespace netd::tunnel {
namespace {

using nlohmann::json;

// tapotun's README example 3, unchanged: it must parse as it stands.
TEST(TunnelConfig, ReadsTapotunsServerExampleUnchanged) {
    auto config = json::parse(R"([{
      "name": "corp0", "port": 8080, "net": "10.50.0.1/24", "mtu": 1400, "ips": ["10.50.0.254"],
      "mark": {"value": 100, "table": 100}, "routes": ["172.20.0.0/16"],
      "clients": [
        {"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.50.0.2",
         "routes": ["10.60.0.0/24", "10.61.0.0/24"], "sources": ["192.168.100.10"]},
        {"token": "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33", "ip": "10.50.0.3", "routes": ["10.70.0.0/24"]}
      ]}])");
    auto definitions = parse_config(config);
    ASSERT_EQ(definitions.size(), 1u);
    const auto& server = std::get<ServerConfig>(definitions[0]);
    EXPECT_EQ(server.name, "corp0");
    EXPECT_EQ(server.port, 8080);
    EXPECT_EQ(server.listen_host, "");
    EXPECT_EQ(server.net.to_string(), "10.50.0.1/24");
    EXPECT_EQ(server.mtu, 1400);
    ASSERT_EQ(server.ips.size(), 1u);
    EXPECT_EQ(server.ips[0].to_string(), "10.50.0.254/32");
    ASSERT_TRUE(server.mark);
    EXPECT_EQ(server.mark->value, 100u);
    EXPECT_EQ(server.mark->table, 100u);
    ASSERT_EQ(server.clients.size(), 2u);
    EXPECT_EQ(server.clients[0].sources.at(0).to_string(), "192.168.100.10/32");
    EXPECT_EQ(server.clients[1].routes.at(0).to_string(), "10.70.0.0/24");
    EXPECT_EQ(server.clients[0].token.kind, TokenHash::Kind::sha1);
}

TEST(TunnelConfig, ReadsTapotunsClientExampleAndOurAdditions) {
    auto definitions = parse_config(json::parse(R"([
      {"name": "corp0", "server": "https://edge.example.com/ip", "token": "test", "mark": {"value": 100, "table": 100}},
      {"name": "lab0", "server": "https://10.0.0.1:8443", "token": "t", "ca": "/etc/netd/ca.pem"},
      {"name": "srv0", "listen": "127.0.0.1:9000", "path": "/ip", "net": "10.9.0.1/24",
       "trusted_proxies": ["127.0.0.1", "::1", "10.5.0.0/24"],
       "tls": {"cert": "c.pem", "key": "k.pem"},
       "clients": [{"token_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "ip": "10.9.0.2"}]}
    ])"));
    ASSERT_EQ(definitions.size(), 3u);
    const auto& corp = std::get<ClientConfig>(definitions[0]);
    EXPECT_TRUE(corp.server.tls);
    EXPECT_EQ(corp.server.host, "edge.example.com");
    EXPECT_EQ(corp.server.port, 443);
    EXPECT_EQ(corp.server.target, "/ip");
    EXPECT_EQ(corp.server.authority(), "edge.example.com");
    const auto& lab = std::get<ClientConfig>(definitions[1]);
    EXPECT_EQ(lab.server.port, 8443);
    EXPECT_EQ(lab.server.target, "/");
    EXPECT_EQ(lab.server.authority(), "10.0.0.1:8443");
    EXPECT_EQ(lab.ca, "/etc/netd/ca.pem");
    const auto& srv = std::get<ServerConfig>(definitions[2]);
    EXPECT_EQ(srv.listen_host, "127.0.0.1");
    EXPECT_EQ(srv.port, 9000);
    EXPECT_EQ(srv.path, "/ip");
    ASSERT_TRUE(srv.tls);
    EXPECT_EQ(srv.tls->key, "k.pem");
    EXPECT_EQ(srv.clients[0].token.kind, TokenHash::Kind::sha256);
    ASSERT_EQ(srv.trusted_proxies.size(), 3u);
    EXPECT_EQ(srv.trusted_proxies[0].to_string(), "127.0.0.1/32");
    EXPECT_EQ(srv.trusted_proxies[1].to_string(), "::1/128");
    EXPECT_EQ(srv.trusted_proxies[2].to_string(), "10.5.0.0/24");
}

TEST(TunnelConfig, OneObjectIsOneDefinition) {
    auto definitions = parse_config(json::parse(R"({"name": "nt0", "server": "http://[::1]:8080/x?y", "token": "t"})"));
    ASSERT_EQ(definitions.size(), 1u);
    const auto& client = std::get<ClientConfig>(definitions[0]);
    EXPECT_EQ(client.server.host, "::1");
    EXPECT_EQ(client.server.target, "/x?y");
    EXPECT_EQ(client.server.authority(), "[::1]:8080");
}

struct BadCase {
    const char* what;
    const char* config;
    const char* field; // where the error must point
};

class BadTunnelConfig : public testing::TestWithParam<BadCase> {};

TEST_P(BadTunnelConfig, NamesTheField) {
    try {
        parse_config(json::parse(GetParam().config));
        ADD_FAILURE() << "accepted";
    } catch (const ConfigError& error) {
        EXPECT_EQ(error.field, GetParam().field) << error.what();
        EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << "one line";
    }
}

#define CLIENTS R"("clients": [{"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.9.0.2"}])"
INSTANTIATE_TEST_SUITE_P(
    Cases, BadTunnelConfig,
    testing::Values(
        BadCase{"not an object", "[1]", "[0]"}, BadCase{"empty", "[]", "(top)"},
        BadCase{"neither", R"({"name": "a"})", "(top)"},
        BadCase{"both", R"({"name": "a", "port": 1, "server": "http://x"})", "server"},
        BadCase{"unknown field", R"({"name": "a", "server": "http://x", "token": "t", "colour": 1})", "colour"},
        BadCase{"no name", R"({"server": "http://x", "token": "t"})", "name"},
        BadCase{"bad name", R"({"name": "../x", "server": "http://x", "token": "t"})", "name"},
        BadCase{"ftp", R"({"name": "a", "server": "ftp://x", "token": "t"})", "server"},
        BadCase{"no host", R"({"name": "a", "server": "http://:80/", "token": "t"})", "server"},
        BadCase{"bad port", R"({"name": "a", "server": "http://x:0", "token": "t"})", "server"},
        BadCase{"no token", R"({"name": "a", "server": "http://x"})", "token"},
        BadCase{"token with a newline", R"({"name": "a", "server": "http://x", "token": "t\nHost: y"})", "token"},
        BadCase{"ca on http", R"({"name": "a", "server": "http://x", "token": "t", "ca": "c"})", "ca"},
        BadCase{"insecure not bool", R"({"name": "a", "server": "https://x", "token": "t", "insecure": 1})", "insecure"},
        BadCase{"mark without table", R"({"name": "a", "server": "http://x", "token": "t", "mark": {"value": 1}})",
                "mark.table"},
        BadCase{"main table", R"({"name": "a", "server": "http://x", "token": "t", "mark": {"value": 1, "table": 254}})",
                "mark.table"},
        BadCase{"port 70000", R"({"name": "a", "port": 70000, "net": "10.9.0.1/24", )" CLIENTS "}", "port"},
        BadCase{"port a string", R"({"name": "a", "port": "80", "net": "10.9.0.1/24", )" CLIENTS "}", "port"},
        BadCase{"listen and port differ", R"({"name": "a", "port": 1, "listen": "127.0.0.1:2", "net": "10.9.0.1/24", )" CLIENTS "}",
                "listen"},
        BadCase{"listen not an address", R"({"name": "a", "listen": "example.com:2", "net": "10.9.0.1/24", )" CLIENTS "}",
                "listen"},
        BadCase{"no net", R"({"name": "a", "port": 1, )" CLIENTS "}", "net"},
        BadCase{"net without prefix room", R"({"name": "a", "port": 1, "net": "10.9.0.1/32", )" CLIENTS "}", "net"},
        BadCase{"net in IPv6", R"({"name": "a", "port": 1, "net": "fd00::1/64", )" CLIENTS "}", "net"},
        BadCase{"net the network's address", R"({"name": "a", "port": 1, "net": "10.9.0.0/24", )" CLIENTS "}", "net"},
        BadCase{"net the broadcast address", R"({"name": "a", "port": 1, "net": "10.9.0.255/24", )" CLIENTS "}", "net"},
        BadCase{"trusted_proxies not an array", R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "trusted_proxies": "127.0.0.1", )" CLIENTS "}",
                "trusted_proxies"},
        BadCase{"trusted_proxies with a name", R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "trusted_proxies": ["localhost"], )" CLIENTS "}",
                "trusted_proxies[0]"},
        BadCase{"mtu too small", R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "mtu": 100, )" CLIENTS "}", "mtu"},
        BadCase{"bad ip in ips", R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "ips": ["10.9"], )" CLIENTS "}",
                "ips[0]"},
        BadCase{"bad route", R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "routes": ["10.1.0.1/24"], )" CLIENTS "}",
                "routes[0]"},
        BadCase{"no clients", R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": []})", "clients"},
        BadCase{"a client's route over net",
                R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.9.0.2", "routes": ["10.0.0.0/8"]}]})",
                "clients[0].routes[0]"},
        BadCase{"two clients with one route",
                R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.9.0.2", "routes": ["10.60.0.0/24"]}, {"token": "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33", "ip": "10.9.0.3", "routes": ["10.61.0.0/24", "10.60.0.0/24"]}]})",
                "clients[1].routes[1]"},
        BadCase{"short token", R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "abc", "ip": "10.9.0.2"}]})",
                "clients[0].token"},
        BadCase{"upper-case token",
                R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3", "ip": "10.9.0.2"}]})",
                "clients[0].token"},
        BadCase{"ip outside net",
                R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.8.0.2"}]})",
                "clients[0].ip"},
        BadCase{"ip the server's",
                R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.9.0.1"}]})",
                "clients[0].ip"},
        BadCase{"same token twice",
                R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.9.0.2"}, {"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.9.0.3"}]})",
                "clients[1].token"},
        BadCase{"unknown client field",
                R"({"name": "a", "port": 1, "net": "10.9.0.1/24", "clients": [{"token": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "ip": "10.9.0.2", "gw": 1}]})",
                "clients[0].gw"},
        BadCase{"same name twice", R"([{"name": "a", "server": "http://x", "token": "t"}, {"name": "a", "server": "http://y", "token": "t"}])",
                "[1].name"}),
    netd::cases::ByWhat{});

TEST(TunnelConfig, HexIsLowercase) { EXPECT_EQ(to_hex(std::string("\x00\xff\x1a", 3)), "00ff1a"); }

} // namespace
} // namespace netd::tunnel
