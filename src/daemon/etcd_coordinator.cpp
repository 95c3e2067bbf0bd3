#include "netd/daemon/etcd_coordinator.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <set>

#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/http/client.hpp"

namespace netd {
namespace {

constexpr char base64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// etcd's gateway carries keys and values as base64 (JSON has no bytes).
std::string base64(const std::string& bytes) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char byte : bytes) {
        buffer = buffer << 8 | byte;
        bits += 8;
        while (bits >= 6) out += base64_digits[(buffer >> (bits -= 6)) & 63];
    }
    if (bits > 0) out += base64_digits[(buffer << (6 - bits)) & 63];
    while (out.size() % 4 != 0) out += '=';
    return out;
}

std::string unbase64(const std::string& text) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        const char* digit = std::strchr(base64_digits, c);
        if (c == '=' || !digit || c == '\0') break;
        buffer = buffer << 6 | static_cast<std::uint32_t>(digit - base64_digits);
        bits += 6;
        if (bits >= 8) out += static_cast<char>((buffer >> (bits -= 8)) & 0xff);
    }
    return out;
}

std::string now_rfc3339() {
    auto now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

// The keys after `prefix` in etcd's order: the prefix with its last byte
// raised by one.
std::string range_end_of(std::string prefix) {
    prefix.back() = static_cast<char>(prefix.back() + 1);
    return prefix;
}

} // namespace

std::vector<std::string> parse_etcd_endpoints(const std::string& flag) {
    constexpr std::string_view scheme = "etcd=";
    if (flag.substr(0, scheme.size()) != scheme) {
        fail(ErrorCode::invalid, "--coordinator must be etcd=http://HOST:PORT[,http://HOST:PORT...], not " + flag);
    }
    std::vector<std::string> endpoints;
    for (std::size_t start = scheme.size(); start <= flag.size();) {
        auto comma = std::min(flag.find(',', start), flag.size());
        auto endpoint = flag.substr(start, comma - start);
        if (endpoint.substr(0, 7) != "http://" || endpoint.size() <= 7) {
            fail(ErrorCode::invalid, "an etcd endpoint must be http://HOST:PORT, not \"" + endpoint + "\"");
        }
        endpoints.push_back(endpoint.substr(7));
        start = comma + 1;
    }
    return endpoints;
}

EtcdCoordinator::EtcdCoordinator(EtcdSettings settings)
    : settings_(std::move(settings)), prefix_("/netd/v1/" + settings_.pool.to_string() + "/blocks/"),
      range_end_(range_end_of(prefix_)) {}

nlohmann::json EtcdCoordinator::post(const std::string& path, const nlohmann::json& body) {
    std::string failures;
    for (const auto& endpoint : settings_.endpoints) {
        try {
            auto reply = http::call({endpoint, ""}, "POST", path, body.dump(), "", std::chrono::seconds(2));
            auto answer = nlohmann::json::parse(reply.body, nullptr, false);
            if (reply.status != 200 || answer.is_discarded()) {
                auto message = answer.is_object() ? answer.value("message", reply.body) : reply.body;
                fail(ErrorCode::unavailable, "etcd at " + endpoint + " answered " + std::to_string(reply.status) +
                                                 " to " + path + ": " + message);
            }
            return answer;
        } catch (const http::Unreachable& error) {
            failures += (failures.empty() ? "" : "; ") + endpoint + ": " + error.what();
        }
    }
    fail(ErrorCode::unavailable, "etcd is out of reach (" + failures + "); no block is allocated without its claim");
}

std::string EtcdCoordinator::key_of(const net::Cidr& block) const { return prefix_ + block.to_string(); }

std::string EtcdCoordinator::value_of(const std::string& name, const std::string& created) const {
    return nlohmann::json{{"node", settings_.node}, {"daemon", settings_.daemon}, {"name", name}, {"created", created}}
        .dump();
}

bool EtcdCoordinator::ours(const Claim& claim) const {
    return claim.node == settings_.node && claim.daemon == settings_.daemon;
}

std::map<std::string, EtcdCoordinator::Stored> EtcdCoordinator::read_keys(const std::string& key,
                                                                         const std::string& range_end,
                                                                         std::int64_t& revision) {
    nlohmann::json request{{"key", base64(key)}};
    if (!range_end.empty()) request["range_end"] = base64(range_end);
    auto answer = post("/v3/kv/range", request);
    revision = std::stoll(answer["header"].value("revision", "0"));
    std::map<std::string, Stored> keys;
    for (const auto& kv : answer.value("kvs", nlohmann::json::array())) {
        auto key = unbase64(kv.value("key", ""));
        auto value = nlohmann::json::parse(unbase64(kv.value("value", "")), nullptr, false);
        try {
            if (!value.is_object()) throw std::invalid_argument("not a JSON object");
            Claim claim{net::Cidr::parse(key.substr(prefix_.size())), value.value("node", ""),
                        value.value("daemon", ""), value.value("name", ""), value.value("created", "")};
            keys[key] = {claim, kv.value("mod_revision", "0"), kv.value("lease", "0")};
        } catch (const std::exception& error) {
            spdlog::warn("ignoring the etcd key {}: {}", key, error.what());
        }
    }
    return keys;
}

ClaimView EtcdCoordinator::read() {
    std::int64_t revision = 0;
    std::vector<Claim> claims;
    for (auto& [_, stored] : read_pool(revision)) claims.push_back(std::move(stored.claim));
    return {std::move(claims), revision};
}

bool EtcdCoordinator::transact(const nlohmann::json& compare, const nlohmann::json& success) {
    return post("/v3/kv/txn", {{"compare", compare}, {"success", success}}).value("succeeded", false);
}

namespace {

nlohmann::json at_revision(const std::string& encoded_key, const std::string& mod_revision) {
    return nlohmann::json::array(
        {{{"key", encoded_key}, {"target", "MOD"}, {"result", "EQUAL"}, {"mod_revision", mod_revision}}});
}

} // namespace

bool EtcdCoordinator::put_if_unchanged(const std::string& key, const std::string& mod_revision,
                                       const std::string& value) {
    auto encoded = base64(key);
    return transact(at_revision(encoded, mod_revision),
                    nlohmann::json::array(
                        {{{"request_put", {{"key", encoded}, {"value", base64(value)}, {"lease", lease_}}}}}));
}

bool EtcdCoordinator::delete_if_unchanged(const std::string& key, const std::string& mod_revision) {
    auto encoded = base64(key);
    return transact(at_revision(encoded, mod_revision),
                    nlohmann::json::array({{{"request_delete_range", {{"key", encoded}}}}}));
}

void EtcdCoordinator::grant() {
    auto answer = post("/v3/lease/grant", {{"TTL", std::to_string(settings_.lease_ttl.count())}});
    lease_ = answer.value("ID", "");
    if (lease_.empty()) fail(ErrorCode::unavailable, "etcd granted no lease: " + answer.dump());
    spdlog::info("etcd lease {} granted for {} s", lease_, settings_.lease_ttl.count());
}

bool EtcdCoordinator::keep_alive() {
    auto answer = post("/v3/lease/keepalive", {{"ID", lease_}});
    // An expired lease is answered without a TTL (or with 0).
    return std::stoll(answer["result"].value("TTL", "0")) > 0;
}

bool EtcdCoordinator::claim(const ClaimView& view, const net::Cidr& block, const std::string& name) {
    if (lease_.empty()) grant();
    nlohmann::json unchanged = nlohmann::json::array({{{"key", base64(prefix_)},
                                                       {"range_end", base64(range_end_)},
                                                       {"target", "MOD"},
                                                       {"result", "LESS"},
                                                       {"mod_revision", std::to_string(view.revision() + 1)}}});
    nlohmann::json put = nlohmann::json::array(
        {{{"request_put", {{"key", base64(key_of(block))}, {"value", base64(value_of(name, now_rfc3339()))}, {"lease", lease_}}}}});
    return transact(unchanged, put);
}

void EtcdCoordinator::release(const net::Cidr& block) noexcept {
    // Ranges outside the pool are never claimed (claim_given), so there is
    // nothing to look up.
    if (!settings_.pool.overlaps(block)) return;
    try {
        std::int64_t revision = 0;
        auto keys = read_keys(key_of(block), "", revision);
        auto found = keys.find(key_of(block));
        if (found == keys.end() || !ours(found->second.claim)) return;
        delete_if_unchanged(found->first, found->second.mod_revision);
    } catch (const std::exception& error) {
        // maintain() deletes it once etcd answers again.
        reconciled_ = false;
        spdlog::warn("the claim on {} stays in etcd for now: {}", block.to_string(), error.what());
    }
}

void EtcdCoordinator::reconcile(const HeldBlocks& held) {
    std::vector<std::string> lost;
    // Only the pool's blocks are part of the shared plan.
    HeldBlocks planned;
    std::set<std::string> held_keys;
    for (const auto& entry : held) {
        if (!settings_.pool.overlaps(entry.first)) continue;
        planned.push_back(entry);
        held_keys.insert(key_of(entry.first));
    }
    // Like allocation, a few rounds settle any race; more is given up on
    // until the next maintenance.
    for (int attempt = 0; attempt < 20; ++attempt) {
        lost.clear();
        std::int64_t revision = 0;
        auto keys = read_pool(revision);
        std::vector<Claim> others;
        for (const auto& [key, stored] : keys) {
            if (!ours(stored.claim)) {
                others.push_back(stored.claim);
            } else if (!held_keys.contains(key)) {
                delete_if_unchanged(key, stored.mod_revision);
            }
        }
        ClaimView foreign(std::move(others), revision);
        bool changed_under_us = false;
        for (const auto& [block, name] : planned) {
            auto key = key_of(block);
            auto found = keys.find(key);
            if (found != keys.end() && ours(found->second.claim)) {
                // Taken over under the current lease, only if it is still
                // the very claim just read: never a plain put.
                if (found->second.lease != lease_) {
                    changed_under_us |= !put_if_unchanged(key, found->second.mod_revision,
                                                          value_of(found->second.claim.name,
                                                                   found->second.claim.created));
                }
                continue;
            }
            if (const auto* other = foreign.find_overlap(block)) {
                lost.push_back(block.to_string() + " is held here but claimed by " + other->daemon + " on node " +
                               other->node);
                continue;
            }
            changed_under_us |= !claim(foreign, block, name);
        }
        if (!changed_under_us) break;
    }
    for (const auto& problem : lost) {
        if (std::find(lost_.begin(), lost_.end(), problem) == lost_.end()) spdlog::error("{}", problem);
    }
    lost_ = lost;
}

void EtcdCoordinator::maintain(const HeldBlocks& held) noexcept {
    try {
        if (lease_.empty() || !keep_alive()) {
            if (!lease_.empty()) spdlog::warn("etcd lease {} expired; claiming again under a new one", lease_);
            grant();
            reconciled_ = false;
        }
        if (!reachable_) spdlog::info("etcd is reachable again");
        reachable_ = true;
        if (!reconciled_) {
            reconcile(held);
            reconciled_ = true;
        }
    } catch (const std::exception& error) {
        if (reachable_) spdlog::error("{}", error.what());
        reachable_ = false;
        reconciled_ = false;
    }
}

std::vector<std::string> EtcdCoordinator::problems() const {
    auto out = lost_;
    if (!reachable_) out.insert(out.begin(), "etcd is out of reach: no new allocation until it is back");
    return out;
}

} // namespace netd
