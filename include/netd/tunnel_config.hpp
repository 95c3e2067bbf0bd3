#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "netd/net/ip.hpp"

// netd-tunnel's configuration: tapotun's JSON format, unchanged (an array of
// definitions, or one; a server has `port`, a client `server`), plus our
// fields (`listen`, `tls`, `path`, `ca`, `insecure`, `token_sha256`). Pure:
// parsed and checked here, used by src/tunnel. See README, "netd-tunnel".
namespace netd::tunnel {

// A bad field: where it is ("[0].clients[1].ip") and what is wrong with it.
struct ConfigError : std::runtime_error {
    ConfigError(std::string field, const std::string& problem)
        : std::runtime_error(field + ": " + problem), field(std::move(field)) {}
    std::string field;
};

// tapotun's `mark`: the TUN's routes go to `table`, looked up by packets
// carrying fwmark `value` (tun-daemon makes the rule).
struct Mark {
    std::uint32_t value = 0;
    std::uint32_t table = 0;
};

// How the server knows a client: a hash of its token, as lowercase hex
// (tapotun's `token` is SHA-1; `token_sha256` is ours).
struct TokenHash {
    enum class Kind { sha1, sha256 } kind = Kind::sha1;
    std::string hex;
};

struct ClientEntry {
    TokenHash token;
    net::IpAddress ip;                 // its address in the server's `net`
    std::vector<net::Cidr> routes{};   // networks behind it
    std::vector<net::Cidr> sources{};  // sources pinned to it
};

struct Tls {
    std::string cert; // PEM chain
    std::string key;  // PEM key
};

struct ServerConfig {
    std::string name;
    std::string listen_host; // "" is every address
    std::uint16_t port = 0;
    std::string path;        // "" answers on any path
    net::InterfaceAddress net;
    int mtu = 1500;
    std::vector<net::InterfaceAddress> ips{};
    std::vector<net::Cidr> routes{};
    std::optional<Mark> mark{};
    std::optional<Tls> tls{};
    // Reverse proxies whose X-Forwarded-For names the caller (tunnel_caller.hpp).
    std::vector<net::Cidr> trusted_proxies{};
    std::vector<ClientEntry> clients{};
};

// A server's URL, as a client connects to it.
struct Url {
    bool tls = false;
    std::string host; // a name, a dotted quad, or IPv6 without brackets
    std::uint16_t port = 0;
    std::string target = "/"; // path and query
    std::string authority() const; // for the Host header
};

struct ClientConfig {
    std::string name;
    Url server;
    std::string token;
    std::optional<Mark> mark{};
    std::string ca;        // a PEM bundle instead of the system's store
    bool insecure = false; // no certificate check at all
};

using Definition = std::variant<ServerConfig, ClientConfig>;

// Every definition of a config file's JSON; throws ConfigError for the
// first bad field, unknown ones included.
std::vector<Definition> parse_config(const nlohmann::json& config);

Url parse_url(const std::string& text); // throws ConfigError("server", ...)

// Lowercase hex of `bytes`.
std::string to_hex(const std::string& bytes);

} // namespace netd::tunnel
