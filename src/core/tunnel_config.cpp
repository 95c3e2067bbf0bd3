#include "netd/tunnel_config.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "netd/error.hpp"
#include "netd/net/interface_name.hpp"

namespace netd::tunnel {
namespace {

using nlohmann::json;

// Where a field is, for the message: "[0].clients[1].ip".
std::string at(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
}
std::string at(const std::string& parent, std::size_t index) { return parent + "[" + std::to_string(index) + "]"; }

// A value quoted as it stood in the file, bounded, for the message.
std::string quoted(const json& value) {
    auto text = value.dump(-1, ' ', true, json::error_handler_t::replace);
    return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

void check_fields(const json& object, const std::string& where, std::initializer_list<const char*> allowed) {
    for (const auto& item : object.items()) {
        const auto& key = item.key();
        if (std::none_of(allowed.begin(), allowed.end(), [&](const char* name) { return key == name; })) {
            throw ConfigError(at(where, key), "unknown field");
        }
    }
}

const json* find(const json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

std::string string_of(const json& value, const std::string& where, bool allow_empty = false) {
    if (!value.is_string()) throw ConfigError(where, "must be a string, not " + quoted(value));
    auto text = value.get<std::string>();
    if (text.empty() && !allow_empty) throw ConfigError(where, "must not be empty");
    return text;
}

std::uint64_t number_of(const json& value, const std::string& where, std::uint64_t min, std::uint64_t max) {
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
        throw ConfigError(where, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                                     ", not " + quoted(value));
    }
    auto number = value.get<std::uint64_t>();
    if (number < min || number > max) {
        throw ConfigError(where, "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", not " +
                                     std::to_string(number));
    }
    return number;
}

bool bool_of(const json& value, const std::string& where) {
    if (!value.is_boolean()) throw ConfigError(where, "must be true or false, not " + quoted(value));
    return value.get<bool>();
}

template <typename Parse>
auto parsed(const json& value, const std::string& where, Parse parse) {
    auto text = string_of(value, where);
    try {
        return parse(text);
    } catch (const Error& error) {
        throw ConfigError(where, error.what());
    }
}

// An address alone ("10.50.0.254", tapotun's form) is the network of that
// one address (a /32 in IPv4).
net::Cidr any_network_of(const std::string& text) {
    if (text.find('/') != std::string::npos) return net::Cidr::parse(text);
    auto address = net::IpAddress::parse(text);
    return net::Cidr(address, address.bit_width());
}

// IPv4 only, as the tunnel's own addresses are.
net::Cidr network_of(const std::string& text) {
    auto network = any_network_of(text);
    if (network.family() != net::Family::v4) fail(ErrorCode::invalid, "netd-tunnel carries IPv4 only, for now");
    return network;
}

std::vector<net::Cidr> networks_of(const json* value, const std::string& where,
                                   net::Cidr (*network)(const std::string&) = network_of) {
    std::vector<net::Cidr> networks;
    if (!value) return networks;
    if (!value->is_array()) throw ConfigError(where, "must be an array of networks, not " + quoted(*value));
    for (std::size_t i = 0; i < value->size(); ++i) {
        networks.push_back(parsed((*value)[i], at(where, i), network));
    }
    return networks;
}

// An object of two fields, both required and nothing else (mark's and
// tls's shape).
std::pair<const json*, const json*> both_of(const json& value, const std::string& field, const char* first,
                                           const char* second, const std::string& shape) {
    if (!value.is_object()) throw ConfigError(field, "must be an object " + shape);
    check_fields(value, field, {first, second});
    auto* one = find(value, first);
    auto* other = find(value, second);
    if (!one) throw ConfigError(at(field, first), "is missing");
    if (!other) throw ConfigError(at(field, second), "is missing");
    return {one, other};
}

std::optional<Mark> mark_of(const json& object, const std::string& where) {
    auto* value = find(object, "mark");
    if (!value) return std::nullopt;
    auto field = at(where, "mark");
    auto [number, table] = both_of(*value, field, "value", "table", "{\"value\": N, \"table\": T}");
    Mark mark;
    mark.value = static_cast<std::uint32_t>(number_of(*number, at(field, "value"), 1, 0xffffffff));
    mark.table = static_cast<std::uint32_t>(number_of(*table, at(field, "table"), 1, 0xffffffff));
    // The kernel's own tables: routes there would leak past the mark.
    if (mark.table >= 253 && mark.table <= 255) {
        throw ConfigError(at(field, "table"), std::to_string(mark.table) +
                                                  " is the kernel's own (default, main or local); pick another");
    }
    return mark;
}

std::string name_of(const json& object, const std::string& where) {
    auto* value = find(object, "name");
    if (!value) throw ConfigError(at(where, "name"), "is missing (the TUN's name)");
    return parsed(*value, at(where, "name"), [](const std::string& text) {
        net::validate_interface_name(text);
        return text;
    });
}

bool is_hex(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TokenHash token_of(const json& entry, const std::string& where) {
    auto* sha1 = find(entry, "token");
    auto* sha256 = find(entry, "token_sha256");
    if (sha1 && sha256) throw ConfigError(at(where, "token_sha256"), "give token or token_sha256, not both");
    if (!sha1 && !sha256) {
        throw ConfigError(at(where, "token"), "is missing (the SHA-1 of the client's token, or token_sha256)");
    }
    TokenHash token;
    token.kind = sha1 ? TokenHash::Kind::sha1 : TokenHash::Kind::sha256;
    auto field = at(where, sha1 ? "token" : "token_sha256");
    token.hex = string_of(sha1 ? *sha1 : *sha256, field);
    std::size_t digits = sha1 ? 40 : 64;
    if (token.hex.size() != digits || !is_hex(token.hex)) {
        throw ConfigError(field, std::string("must be the ") + (sha1 ? "SHA-1" : "SHA-256") +
                                     " of the client's token as " + std::to_string(digits) +
                                     " lowercase hex digits (the client's config holds the token itself)");
    }
    return token;
}

// "host:port", "[v6]:port" or ":port".
std::pair<std::string, std::uint16_t> host_port(const std::string& text, const std::string& where) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) throw ConfigError(where, "must be ADDRESS:PORT, not \"" + text + "\"");
    auto host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto port_text = text.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), ::isdigit) ||
        std::stoul(port_text) == 0 || std::stoul(port_text) > 65535) {
        throw ConfigError(where, "the port of \"" + text + "\" must be from 1 to 65535");
    }
    if (!host.empty()) {
        try {
            (void)net::IpAddress::parse(host);
        } catch (const Error& error) {
            throw ConfigError(where, "\"" + host + "\" is not an address to listen on: " + error.what());
        }
    }
    return {host, static_cast<std::uint16_t>(std::stoul(port_text))};
}

ServerConfig server_of(const json& object, const std::string& where) {
    check_fields(object, where,
                 {"name", "port", "listen", "path", "net", "mtu", "ips", "routes", "mark", "tls", "trusted_proxies", "clients"});
    ServerConfig server;
    server.name = name_of(object, where);
    auto* port = find(object, "port");
    auto* listen = find(object, "listen");
    if (port) server.port = static_cast<std::uint16_t>(number_of(*port, at(where, "port"), 1, 65535));
    if (listen) {
        auto [host, listen_port] = host_port(string_of(*listen, at(where, "listen")), at(where, "listen"));
        if (port && listen_port != server.port) {
            throw ConfigError(at(where, "listen"), "names port " + std::to_string(listen_port) + " but port is " +
                                                       std::to_string(server.port));
        }
        server.listen_host = host;
        server.port = listen_port;
    }
    if (auto* path = find(object, "path")) {
        server.path = string_of(*path, at(where, "path"));
        if (server.path.front() != '/') throw ConfigError(at(where, "path"), "must start with /");
    }
    auto* net = find(object, "net");
    if (!net) throw ConfigError(at(where, "net"), "is missing (the server's address and prefix, e.g. 10.10.0.1/24)");
    server.net = parsed(*net, at(where, "net"), net::InterfaceAddress::parse);
    if (server.net.family() != net::Family::v4 || server.net.prefix_len() > 30) {
        throw ConfigError(at(where, "net"), "must be an IPv4 address with a prefix of /30 or shorter");
    }
    if (server.net.address() == server.net.network().first() || server.net.address() == server.net.network().last()) {
        throw ConfigError(at(where, "net"), "must name the server's own address in its network, not " +
                                                server.net.address().to_string());
    }
    if (auto* mtu = find(object, "mtu")) server.mtu = static_cast<int>(number_of(*mtu, at(where, "mtu"), 576, 65535));
    if (auto* ips = find(object, "ips")) {
        if (!ips->is_array()) throw ConfigError(at(where, "ips"), "must be an array of addresses");
        for (std::size_t i = 0; i < ips->size(); ++i) {
            server.ips.push_back(parsed((*ips)[i], at(at(where, "ips"), i), [](const std::string& text) {
                auto address = text.find('/') != std::string::npos
                                   ? net::InterfaceAddress::parse(text)
                                   : net::InterfaceAddress(net::IpAddress::parse(text), 32);
                if (address.family() != net::Family::v4) {
                    fail(ErrorCode::invalid, "netd-tunnel carries IPv4 only, for now");
                }
                return address;
            }));
        }
    }
    server.routes = networks_of(find(object, "routes"), at(where, "routes"));
    server.mark = mark_of(object, where);
    if (auto* tls = find(object, "tls")) {
        auto field = at(where, "tls");
        auto [cert, key] = both_of(*tls, field, "cert", "key", "{\"cert\": PATH, \"key\": PATH}");
        server.tls = Tls{string_of(*cert, at(field, "cert")), string_of(*key, at(field, "key"))};
    }
    // IPv6 too: a proxy on ::1 reaches an IPv4 tunnel all the same.
    server.trusted_proxies = networks_of(find(object, "trusted_proxies"), at(where, "trusted_proxies"), any_network_of);
    auto* clients = find(object, "clients");
    if (!clients || !clients->is_array() || clients->empty()) {
        throw ConfigError(at(where, "clients"), "must be a non-empty array of the clients allowed in");
    }
    std::set<std::string> tokens;
    std::set<net::IpAddress> ips{server.net.address()};
    std::set<net::Cidr> routes;
    for (std::size_t i = 0; i < clients->size(); ++i) {
        auto field = at(at(where, "clients"), i);
        const auto& entry = (*clients)[i];
        if (!entry.is_object()) throw ConfigError(field, "must be an object");
        check_fields(entry, field, {"token", "token_sha256", "ip", "routes", "sources"});
        ClientEntry client;
        client.token = token_of(entry, field);
        if (!tokens.insert(client.token.hex).second) throw ConfigError(at(field, "token"), "is another client's too");
        auto* ip = find(entry, "ip");
        if (!ip) throw ConfigError(at(field, "ip"), "is missing (the client's address in net)");
        client.ip = parsed(*ip, at(field, "ip"), [](const std::string& text) { return net::IpAddress::parse(text); });
        auto network = server.net.network();
        if (!network.contains(client.ip) || client.ip == network.first() || client.ip == network.last()) {
            throw ConfigError(at(field, "ip"), client.ip.to_string() + " is not a host address of " +
                                                   network.to_string() + " (net)");
        }
        if (!ips.insert(client.ip).second) {
            throw ConfigError(at(field, "ip"), client.ip.to_string() + " is the server's or another client's");
        }
        client.routes = networks_of(find(entry, "routes"), at(field, "routes"));
        for (std::size_t r = 0; r < client.routes.size(); ++r) {
            // Inside net, a route would let its client send as the others
            // (anti-spoofing allows a client its routes); twice, the same
            // route would go to whichever client came first.
            const auto& route = client.routes[r];
            if (route.overlaps(network)) {
                throw ConfigError(at(at(field, "routes"), r), route.to_string() + " overlaps net (" + network.to_string() +
                                                                  "), the tunnel's own addresses");
            }
            if (!routes.insert(route).second) {
                throw ConfigError(at(at(field, "routes"), r), route.to_string() + " is another client's route too");
            }
        }
        client.sources = networks_of(find(entry, "sources"), at(field, "sources"));
        server.clients.push_back(std::move(client));
    }
    return server;
}

ClientConfig client_of(const json& object, const std::string& where) {
    check_fields(object, where, {"name", "server", "token", "mark", "ca", "insecure"});
    ClientConfig client;
    client.name = name_of(object, where);
    client.server = parse_url(string_of(object.at("server"), at(where, "server")));
    auto* token = find(object, "token");
    if (!token) throw ConfigError(at(where, "token"), "is missing (the token the server knows by its hash)");
    client.token = string_of(*token, at(where, "token"));
    // It goes in a header: a line break would end it there.
    if (client.token.find_first_of("\r\n") != std::string::npos) {
        throw ConfigError(at(where, "token"), "must be one line");
    }
    client.mark = mark_of(object, where);
    if (auto* ca = find(object, "ca")) client.ca = string_of(*ca, at(where, "ca"));
    if (auto* insecure = find(object, "insecure")) client.insecure = bool_of(*insecure, at(where, "insecure"));
    if (!client.server.tls && (!client.ca.empty() || client.insecure)) {
        throw ConfigError(at(where, client.ca.empty() ? "insecure" : "ca"), "is for an https:// server only");
    }
    return client;
}

} // namespace

std::string Url::authority() const {
    auto shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return (port == (tls ? 443 : 80)) ? shown : shown + ":" + std::to_string(port);
}

Url parse_url(const std::string& text) {
    const std::string where = "server";
    Url url;
    std::string rest;
    if (text.rfind("http://", 0) == 0) {
        rest = text.substr(7);
    } else if (text.rfind("https://", 0) == 0) {
        url.tls = true;
        rest = text.substr(8);
    } else {
        throw ConfigError(where, "\"" + text + "\" must start with http:// or https://");
    }
    auto slash = rest.find_first_of("/?");
    auto authority = rest.substr(0, slash);
    url.target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (url.target.front() == '?') url.target = "/" + url.target;
    if (authority.find('@') != std::string::npos) {
        throw ConfigError(where, "a user in the URL is not supported: the token authenticates");
    }
    std::string port_text;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string::npos) throw ConfigError(where, "\"" + text + "\" has an unclosed [");
        url.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') throw ConfigError(where, "\"" + text + "\" is not a URL");
            port_text = authority.substr(close + 2);
        }
    } else {
        auto colon = authority.find(':');
        url.host = authority.substr(0, colon);
        if (colon != std::string::npos) port_text = authority.substr(colon + 1);
    }
    if (url.host.empty()) throw ConfigError(where, "\"" + text + "\" names no host");
    for (char c : url.host) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_')) {
            throw ConfigError(where, "\"" + text + "\" has a host that is not a name or an address");
        }
    }
    for (char c : url.target) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) throw ConfigError(where, "the URL's path has a space or control character");
    }
    if (port_text.empty()) {
        url.port = url.tls ? 443 : 80;
    } else {
        if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), ::isdigit) ||
            std::stoul(port_text) == 0 || std::stoul(port_text) > 65535) {
            throw ConfigError(where, "the port of \"" + text + "\" must be from 1 to 65535");
        }
        url.port = static_cast<std::uint16_t>(std::stoul(port_text));
    }
    return url;
}

std::vector<Definition> parse_config(const nlohmann::json& config) {
    std::vector<Definition> definitions;
    bool one = config.is_object();
    if (!one && !config.is_array()) throw ConfigError("(top)", "must be an array of definitions, or one object");
    if (config.is_array() && config.empty()) throw ConfigError("(top)", "holds no definition");
    std::set<std::string> names;
    for (std::size_t i = 0; i < (one ? 1 : config.size()); ++i) {
        const auto& object = one ? config : config[i];
        auto where = one ? std::string() : at(std::string(), i);
        if (!object.is_object()) throw ConfigError(where.empty() ? "(top)" : where, "must be an object");
        bool server = object.contains("port") || object.contains("listen");
        bool client = object.contains("server");
        if (server && client) throw ConfigError(at(where, "server"), "a definition with a port is a server: it has no server");
        if (!server && !client) {
            throw ConfigError(where.empty() ? "(top)" : where,
                              "is neither a server (port or listen) nor a client (server)");
        }
        auto definition = server ? Definition(server_of(object, where)) : Definition(client_of(object, where));
        auto name = std::visit([](const auto& d) { return d.name; }, definition);
        if (!names.insert(name).second) throw ConfigError(at(where, "name"), name + " is another definition's too");
        definitions.push_back(std::move(definition));
    }
    return definitions;
}

std::string to_hex(const std::string& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (unsigned char byte : bytes) {
        hex += digits[byte >> 4];
        hex += digits[byte & 15];
    }
    return hex;
}

} // namespace netd::tunnel
