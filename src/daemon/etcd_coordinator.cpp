#include "netd/daemon/etcd_coordinator.hpp"

#include <algorithm>
#include <ctime>
#include <random>

#include <spdlog/spdlog.h>

#include "netd/error.hpp"
#include "netd/platform/platform.hpp"

namespace netd {
namespace {

using nlohmann::json;

std::string now_rfc3339() {
    auto now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

json at_revision(const std::string& encoded_key, const std::string& mod_revision) {
    return json::array({{{"key", encoded_key}, {"target", "MOD"}, {"result", "EQUAL"}, {"mod_revision", mod_revision}}});
}

// "No key here": etcd compares a range with no key in it as a key of version 0.
json absent(const std::string& key, const std::string& range_end = "") {
    json compare{{"key", base64(key)}, {"target", "VERSION"}, {"result", "EQUAL"}, {"version", "0"}};
    if (!range_end.empty()) compare["range_end"] = base64(range_end);
    return compare;
}

double uniform() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    return std::uniform_real_distribution<double>(0, 1)(random);
}

// After a failure to reach etcd, the next try: 100 ms doubling to 5 s, with
// jitter, so that a fleet does not come back in step.
std::chrono::milliseconds backoff(int failures) {
    auto cap = std::min<long long>(5000, 100LL << std::min(failures, 6));
    return std::chrono::milliseconds(cap / 2 + static_cast<long long>(uniform() * static_cast<double>(cap / 2)));
}

// A claim granted to a request that has not come back for it this long was
// given up on (the session answers 503 after Server::busy_patience, 2 s).
constexpr std::chrono::seconds orphan_age{10};

bool is_lost_lease(const std::exception& error) {
    return std::string_view(error.what()).find("lease not found") != std::string_view::npos;
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
    : settings_(std::move(settings)), keys_(settings_.pool), gateway_(settings_.endpoints) {}

EtcdCoordinator::~EtcdCoordinator() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_all();
    lease_check_.notify_all();
    watch_pause_.notify_all();
    settled_.notify_all();
    watched_.notify_all();
    gateway_.interrupt();
    for (auto& thread : threads_) thread.join();
}

void EtcdCoordinator::start(std::chrono::milliseconds patience) {
    // Talking to etcd needs no capability: each thread gives up the
    // CAP_NET_ADMIN it inherits.
    threads_.emplace_back([this] {
        platform::drop_thread_privileges();
        keep_lease_loop();
    });
    threads_.emplace_back([this] {
        platform::drop_thread_privileges();
        watch_loop();
    });
    threads_.emplace_back([this] {
        platform::drop_thread_privileges();
        work_loop();
    });
    std::unique_lock lock(mutex_);
    if (!settled_.wait_for(lock, patience, [this] { return reconciled_ || (reconcile_tried_ && !reachable_); })) {
        spdlog::warn("the claims are not reconciled with etcd after {} ms; serving, and allocating once they are",
                     patience.count());
    }
}

// ---- the I/O thread's side: memory only ----

std::vector<Claim> EtcdCoordinator::claims() const {
    std::lock_guard lock(mutex_);
    return view_.claims();
}

std::optional<Claim> EtcdCoordinator::find_overlap(const net::Cidr& range) const {
    std::lock_guard lock(mutex_);
    if (const auto* claim = view_.find_overlap(range)) return *claim;
    // Blocks this daemon is claiming for other requests, not heard back yet.
    for (const auto& [_, waiting] : waiting_) {
        const auto& outcome = waiting.outcome;
        if ((outcome.state == ClaimOutcome::State::pending || outcome.state == ClaimOutcome::State::granted) &&
            outcome.block.overlaps(range)) {
            return Claim{outcome.block, settings_.node, settings_.daemon, waiting.name, ""};
        }
    }
    return std::nullopt;
}

std::optional<Claim> EtcdCoordinator::recently_dropped(const net::Cidr& range) const {
    std::lock_guard lock(mutex_);
    while (auto block = dropped_ranges_.find_overlap(range)) {
        auto found = dropped_.find(*block);
        if (found != dropped_.end() && Clock::now() - found->second.second < settings_.lease_ttl) {
            return found->second.first;
        }
        if (found != dropped_.end()) dropped_.erase(found);
        dropped_ranges_.erase(*block);
    }
    return std::nullopt;
}

ClaimOutcome EtcdCoordinator::claim(ClaimTicket ticket, const net::Cidr& block, const std::string& name,
                                    int attempt) {
    std::lock_guard lock(mutex_);
    ClaimOutcome pending{ClaimOutcome::State::pending, block, attempt, {}, {}};
    auto now = Clock::now();
    waiting_[ticket] = {pending, name, now};
    jobs_.emplace(now + claim_retry_delay(attempt, uniform()), Job{Job::Kind::claim, ticket, block, name, attempt});
    work_ready_.notify_all();
    return pending;
}

std::optional<ClaimOutcome> EtcdCoordinator::outcome(ClaimTicket ticket) {
    std::lock_guard lock(mutex_);
    auto found = waiting_.find(ticket);
    if (found == waiting_.end()) return std::nullopt;
    auto outcome = found->second.outcome;
    found->second.touched = Clock::now();
    if (outcome.state == ClaimOutcome::State::pending) return outcome;
    // Handed over: a granted block is held from now on, for reconciliation.
    if (outcome.state == ClaimOutcome::State::granted) held_[outcome.block] = found->second.name;
    waiting_.erase(found);
    return outcome;
}

void EtcdCoordinator::release(const net::Cidr& block) noexcept {
    // Ranges outside the pool are never claimed (claim_given).
    if (block.family() != net::Family::v4 || !settings_.pool.overlaps(block)) return;
    std::lock_guard lock(mutex_);
    held_.erase(block);
    jobs_.emplace(Clock::now(), Job{Job::Kind::release, 0, block, "", 0});
    work_ready_.notify_all();
}

std::uint64_t EtcdCoordinator::spread() const {
    // FNV-1a of who we are: stable across restarts, different per host.
    std::uint64_t hash = 14695981039346656037ULL;
    for (char c : settings_.node + "/" + settings_.daemon) {
        hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    return hash;
}

void EtcdCoordinator::on_decided(std::function<void()> callback) {
    std::lock_guard lock(mutex_);
    on_decided_ = std::move(callback);
}

void EtcdCoordinator::track(const HeldBlocks& held) {
    std::lock_guard lock(mutex_);
    held_.clear();
    for (const auto& [block, name] : held) {
        if (block.family() == net::Family::v4 && settings_.pool.overlaps(block)) held_[block] = name;
    }
    // Claims granted to requests that gave up waiting are given back.
    auto now = Clock::now();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        const auto& outcome = it->second.outcome;
        if (outcome.state == ClaimOutcome::State::pending || now - it->second.touched < orphan_age) {
            ++it;
            continue;
        }
        if (outcome.state == ClaimOutcome::State::granted) {
            spdlog::info("giving back the claim on {}: the request it was for gave up waiting",
                         outcome.block.to_string());
            jobs_.emplace(now, Job{Job::Kind::release, 0, outcome.block, "", 0});
        }
        it = waiting_.erase(it);
    }
    // Blocks reported lost are checked again: their holder may be gone.
    if (!lost_.empty() && reconciled_) lose_reconciliation();
    work_ready_.notify_all();
}

std::vector<std::string> EtcdCoordinator::problems() const {
    std::lock_guard lock(mutex_);
    auto out = lost_;
    if (!reachable_) out.insert(out.begin(), "etcd is out of reach: no new allocation until it is back");
    return out;
}

std::vector<http::Gauge> EtcdCoordinator::gauges() const {
    std::lock_guard lock(mutex_);
    return {
        {"netd_claim_transactions_total", "Claim transactions sent to etcd (allocations, explicit ranges, reconciliation).",
         static_cast<double>(transactions_), "counter"},
        {"netd_claim_conflicts_total", "Claims that found an overlapping claim there first (races lost, blocks held elsewhere).",
         static_cast<double>(conflicts_), "counter"},
        {"netd_claims_lost", "Blocks held here that another node claims (named in /healthz).",
         static_cast<double>(lost_.size())},
        {"netd_etcd_leases_lost_total", "Leases etcd let expire or revoked, after which every held block was claimed again.",
         static_cast<double>(leases_lost_), "counter"},
        {"netd_etcd_reachable", "1 when etcd answers, else 0.", reachable_ ? 1.0 : 0.0},
        {"netd_claims_reconciled", "1 when every held block is claimed under the current lease (or reported lost).",
         reconciled_ ? 1.0 : 0.0},
    };
}

void EtcdCoordinator::lose_reconciliation() {
    reconciled_ = false;
    ++generation_;
    reconcile_again_at_ = {};
    work_ready_.notify_all();
}

void EtcdCoordinator::out_of_reach(const std::string& why) {
    if (reachable_) spdlog::error("{}", why);
    reachable_ = false;
    unreachable_because_ = why;
}

std::map<net::Cidr, std::string> EtcdCoordinator::to_reconcile() const {
    auto held = held_;
    for (const auto& [_, waiting] : waiting_) {
        if (waiting.outcome.state == ClaimOutcome::State::granted) held[waiting.outcome.block] = waiting.name;
    }
    return held;
}

// ---- the lease keeper ----

std::string EtcdCoordinator::ensure_lease() {
    std::lock_guard granting(granting_);
    {
        std::lock_guard lock(mutex_);
        if (!lease_.empty()) return lease_;
    }
    auto answer = gateway_.post("/v3/lease/grant", {{"TTL", std::to_string(settings_.lease_ttl.count())}});
    auto id = answer.value("ID", "");
    if (id.empty()) fail(ErrorCode::unavailable, "etcd granted no lease: " + answer.dump());
    spdlog::info("etcd lease {} granted for {} s", id, settings_.lease_ttl.count());
    std::lock_guard lock(mutex_);
    lease_ = id;
    return id;
}

void EtcdCoordinator::keep_lease() {
    std::string lease;
    {
        std::lock_guard lock(mutex_);
        lease = lease_;
    }
    if (lease.empty()) {
        ensure_lease();
        return;
    }
    bool alive = false;
    try {
        auto answer = gateway_.post("/v3/lease/keepalive", {{"ID", lease}});
        // An expired or revoked lease is answered without a TTL (or with 0).
        alive = std::stoll(answer.value("result", json::object()).value("TTL", "0")) > 0;
    } catch (const Error& error) {
        if (!is_lost_lease(error)) throw;
    }
    if (alive) return;
    spdlog::warn("etcd lease {} expired or was revoked; claiming every held block again under a new one", lease);
    {
        std::lock_guard lock(mutex_);
        if (lease_ == lease) lease_.clear();
        ++leases_lost_;
        lose_reconciliation();
    }
    ensure_lease();
}

void EtcdCoordinator::keep_lease_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        std::string why;
        try {
            keep_lease();
        } catch (const std::exception& error) {
            why = error.what();
        }
        lock.lock();
        if (why.empty() && !reachable_) {
            spdlog::info("etcd is reachable again");
            reachable_ = true;
            // What changed meanwhile (a release that could not be made, a
            // watch that missed events) is made good.
            lose_reconciliation();
            gateway_.interrupt();
        } else if (!why.empty()) {
            out_of_reach(why);
        }
        // A third of the TTL, as etcd's own clients do; sooner while etcd is away.
        auto period = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.lease_ttl) / 3;
        if (!why.empty()) period = std::min(period, std::chrono::milliseconds(1000));
        lease_check_.wait_for(lock, period, [this] { return stopping_ || check_lease_now_; });
        check_lease_now_ = false;
    }
}

// ---- the watcher ----

void EtcdCoordinator::watch_loop() {
    int failures = 0;
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        try {
            std::int64_t revision = 0;
            auto keys = read_keys(keys_.all(), revision);
            {
                std::lock_guard lock(mutex_);
                view_ = {};
                for (const auto& [_, stored] : keys) view_.put(stored.claim);
                watched_revision_ = revision;
            }
            watched_.notify_all();
            failures = 0;
            auto all = keys_.all();
            gateway_.watch({{"key", base64(all.key)},
                            {"range_end", base64(all.range_end)},
                            {"start_revision", std::to_string(revision + 1)}},
                           [this](const json& message) { apply(message); });
        } catch (const std::exception& error) {
            spdlog::debug("the etcd watch ended: {}; starting it again", error.what());
        }
        std::unique_lock lock(mutex_);
        if (stopping_) return;
        gateway_.resume();
        watch_pause_.wait_for(lock, backoff(failures++), [this] { return stopping_; });
    }
}

void EtcdCoordinator::apply(const json& message) {
    if (message.contains("error")) fail(ErrorCode::unavailable, "the etcd watch failed: " + message.dump());
    static const json nothing = json::object(), no_events = json::array();
    // Read in place: every daemon gets every claim's event.
    auto member = [](const json& object, const char* name, const json& fallback) -> const json& {
        auto found = object.find(name);
        return found == object.end() ? fallback : *found;
    };
    const auto& result = member(message, "result", nothing);
    if (result.value("canceled", false) || result.value("compact_revision", "0") != "0") {
        fail(ErrorCode::unavailable, "the etcd watch was cancelled: " + result.dump());
    }
    std::lock_guard lock(mutex_);
    std::map<std::string, int> dropped; // by node, for the log
    for (const auto& event : member(result, "events", no_events)) {
        const auto& kv = member(event, "kv", nothing);
        auto key = unbase64(kv.value("key", ""));
        auto block = keys_.block_of(key);
        if (!block) continue;
        if (event.value("type", "PUT") == "DELETE") {
            auto gone = view_.erase(*block);
            bool let_go = released_.erase(*block) > 0;
            if (!gone) continue;
            if (!ours(*gone)) {
                if (!let_go) {
                    // Its holder may only have lost its lease: it has a TTL
                    // to claim it again before anyone else may.
                    if (!dropped_.contains(*block)) dropped_ranges_.insert(*block);
                    dropped_[*block] = {*gone, Clock::now()};
                    ++dropped[gone->node];
                }
                // A block held here but claimed elsewhere is free again: ours.
                if (held_.contains(*block)) lose_reconciliation();
            } else if (held_.contains(*block)) {
                spdlog::warn("the claim on {}, held here, is gone from etcd; claiming it again", block->to_string());
                check_lease_now_ = true;
                lease_check_.notify_all();
                lose_reconciliation();
            }
        } else if (auto claim = claim_of(key, unbase64(kv.value("value", "")))) {
            view_.put(*claim);
            // Claimed again by the node that held it: no longer kept for it.
            auto dropped = dropped_.find(*block);
            if (dropped != dropped_.end() && dropped->second.first.node == claim->node &&
                dropped->second.first.daemon == claim->daemon) {
                dropped_.erase(dropped);
                dropped_ranges_.erase(*block);
            }
            auto value = json::parse(unbase64(kv.value("value", "")), nullptr, false);
            if (value.is_object() && value.value("released", false)) released_.insert(*block);
        }
    }
    // The answer that creates the watch says where etcd is, not what the
    // watch has delivered.
    if (!result.value("created", false)) {
        auto revision = std::stoll(result.value("header", json::object()).value("revision", "0"));
        watched_revision_ = std::max<std::int64_t>(watched_revision_, revision);
    }
    watched_.notify_all();
    for (const auto& [node, count] : dropped) {
        spdlog::info("etcd dropped {} claims of node {} that it did not let go of: kept for it for {} s", count, node,
                     settings_.lease_ttl.count());
    }
}

// ---- the worker ----

void EtcdCoordinator::work_loop() {
    std::unique_lock lock(mutex_);
    int failures = 0;
    while (!stopping_) {
        auto now = Clock::now();
        if (!reconciled_ && now >= reconcile_again_at_) {
            auto held = to_reconcile();
            auto generation = generation_;
            lock.unlock();
            std::string why;
            bool lease_lost = false;
            try {
                reconcile(held);
            } catch (const std::exception& error) {
                why = error.what();
                if (why.empty()) why = "reconciliation failed";
                lease_lost = is_lost_lease(error);
            }
            lock.lock();
            if (lease_lost) {
                // Begun before the lease keeper found the lease gone: again,
                // under a new one.
                spdlog::info("etcd no longer has the lease {}; reconciling under a new one", lease_);
                lease_.clear();
                continue;
            }
            reconcile_tried_ = true;
            if (why.empty()) {
                if (generation == generation_) reconciled_ = true;
                failures = 0;
            } else {
                out_of_reach(why);
                reconcile_again_at_ = Clock::now() + backoff(failures++);
            }
            settled_.notify_all();
            continue;
        }
        auto next = jobs_.empty() ? Clock::time_point::max() : jobs_.begin()->first;
        if (!reconciled_) next = std::min(next, reconcile_again_at_);
        if (next > now) {
            if (next == Clock::time_point::max()) {
                work_ready_.wait(lock);
            } else {
                work_ready_.wait_until(lock, next);
            }
            continue;
        }
        auto job = jobs_.begin()->second;
        jobs_.erase(jobs_.begin());
        if (job.kind == Job::Kind::release) {
            lock.unlock();
            std::string why;
            try {
                run_release(job.block);
            } catch (const std::exception& error) {
                why = error.what();
            }
            lock.lock();
            if (!why.empty()) {
                // The next reconciliation deletes it.
                spdlog::warn("the claim on {} stays in etcd for now: {}", job.block.to_string(), why);
                out_of_reach(why);
                lose_reconciliation();
            }
            continue;
        }
        // Every claim due now goes in one transaction (see claim_txns): a
        // burst of requests costs etcd one round, not one each.
        std::vector<Job> batch;
        if (pending_claim(job)) batch.push_back(job);
        for (auto it = jobs_.begin(); it != jobs_.end() && it->first <= now && batch.size() < max_batch;) {
            const auto& next = it->second;
            if (next.kind != Job::Kind::claim) {
                ++it;
                continue;
            }
            // Claims in one transaction are compared before any is made, so
            // overlapping ones wait for the next.
            bool apart = std::none_of(batch.begin(), batch.end(),
                                      [&](const Job& other) { return other.block.overlaps(next.block); });
            if (!apart) {
                ++it;
                continue;
            }
            if (pending_claim(next)) batch.push_back(next);
            it = jobs_.erase(it);
        }
        if (batch.empty()) continue;
        if (!reconciled_) {
            // Only after a failed reconciliation: nothing new until it succeeds.
            for (const auto& each : batch) {
                auto& outcome = waiting_.at(each.ticket).outcome;
                outcome.state = ClaimOutcome::State::failed;
                outcome.error = Error(ErrorCode::unavailable, unreachable_because_);
            }
            if (on_decided_) on_decided_();
            continue;
        }
        auto lease = lease_;
        lock.unlock();
        std::vector<ClaimOutcome> outcomes;
        std::optional<std::string> why;
        bool lease_lost = false;
        try {
            if (lease.empty()) lease = ensure_lease();
            outcomes = run_claims(batch, lease);
        } catch (const std::exception& error) {
            why = error.what();
            lease_lost = is_lost_lease(error);
        }
        lock.lock();
        if (lease_lost) {
            // Claimed under a lease etcd no longer has: a new one, the held
            // blocks claimed again under it, then these claims.
            if (lease_ == lease) lease_.clear();
            lose_reconciliation();
            for (const auto& each : batch) jobs_.emplace(Clock::now(), each);
            continue;
        }
        if (why) out_of_reach(*why);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const auto& each = batch[i];
            auto outcome = why ? ClaimOutcome{ClaimOutcome::State::failed, each.block, each.attempt, {},
                                              Error(ErrorCode::unavailable, *why)}
                               : outcomes[i];
            if (outcome.state == ClaimOutcome::State::granted) {
                view_.put({each.block, settings_.node, settings_.daemon, each.name, ""});
            } else if (outcome.holder) {
                view_.put(*outcome.holder);
            }
            auto waiting = waiting_.find(each.ticket);
            if (waiting != waiting_.end() && waiting->second.outcome.block == each.block &&
                waiting->second.outcome.attempt == each.attempt) {
                waiting->second.outcome = outcome;
            } else if (outcome.state == ClaimOutcome::State::granted) {
                jobs_.emplace(Clock::now(), Job{Job::Kind::release, 0, each.block, "", 0});
            }
        }
        if (on_decided_) on_decided_();
    }
}

bool EtcdCoordinator::pending_claim(const Job& job) const {
    auto waiting = waiting_.find(job.ticket);
    // Not when its request gave up, or moved on.
    return waiting != waiting_.end() && waiting->second.outcome.state == ClaimOutcome::State::pending &&
           waiting->second.outcome.block == job.block && waiting->second.outcome.attempt == job.attempt;
}

std::vector<ClaimOutcome> EtcdCoordinator::run_claims(const std::vector<Job>& batch, const std::string& lease) {
    std::vector<ClaimRequest> requests;
    for (const auto& job : batch) requests.push_back({job.block, job.name});
    std::int64_t revision = 0;
    auto answers = claim_txns(requests, now_rfc3339(), lease, &revision);
    std::vector<ClaimOutcome> outcomes;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& job = batch[i];
        auto [granted, holder] = answers[i];
        if (granted) {
            // A key absent now may be one etcd just dropped with another
            // node's lease, which that node gets a TTL to claim again.
            // Whether it was is known once the watch has seen every change
            // before this claim.
            auto dropped = dropped_before(job.block, revision);
            if (!dropped) {
                outcomes.push_back({ClaimOutcome::State::granted, job.block, job.attempt, {}, {}});
                continue;
            }
            release_at(job.block, {job.block, settings_.node, settings_.daemon, job.name, ""},
                       std::to_string(revision), lease);
            holder = dropped;
            std::lock_guard lock(mutex_);
            ++conflicts_;
        }
        // A race lost (or a block held elsewhere): the request tries another.
        spdlog::info("the claim on {} (attempt {}) lost to {}", job.block.to_string(), job.attempt + 1,
                     holder ? holder->block.to_string() + " of " + holder->daemon + " on node " + holder->node
                            : std::string("a claim gone since"));
        outcomes.push_back({ClaimOutcome::State::lost, job.block, job.attempt, holder, {}});
    }
    return outcomes;
}

std::optional<Claim> EtcdCoordinator::dropped_before(const net::Cidr& block, std::int64_t revision) {
    std::unique_lock lock(mutex_);
    // Only this claim's own put unseen: nothing else happened in between.
    if (revision > watched_revision_ + 1 &&
        !watched_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || watched_revision_ >= revision; })) {
        spdlog::warn("the etcd watch is behind: the claim on {} is kept without knowing whether etcd had just "
                     "dropped an overlapping one",
                     block.to_string());
        return std::nullopt;
    }
    lock.unlock();
    return recently_dropped(block);
}

void EtcdCoordinator::run_release(const net::Cidr& block) {
    auto key = keys_.key_of(block);
    std::int64_t revision = 0;
    auto keys = read_keys({key, ""}, revision);
    auto found = keys.find(block);
    if (found == keys.end() || !ours(found->second.claim)) return;
    release_at(block, found->second.claim, found->second.mod_revision, found->second.lease);
}

void EtcdCoordinator::release_at(const net::Cidr& block, const Claim& claim, const std::string& mod_revision,
                                 const std::string& lease) {
    // Marked released first, so that other nodes see it let go of, not
    // dropped with a lost lease (which they would keep for us for a TTL).
    auto key = keys_.key_of(block);
    auto value = json::parse(value_of(claim.name, claim.created));
    value["released"] = true;
    auto marked = put_if_unchanged(key, mod_revision, value.dump(), lease, true);
    if (!marked) return; // changed hands meanwhile: not ours to delete
    delete_if_unchanged(key, *marked);
}

void EtcdCoordinator::reconcile(const std::map<net::Cidr, std::string>& held) {
    auto lease = ensure_lease();
    std::int64_t revision = 0;
    auto keys = read_keys(keys_.all(), revision);
    for (auto it = keys.begin(); it != keys.end();) {
        if (ours(it->second.claim) && !held.contains(it->first)) {
            delete_if_unchanged(keys_.key_of(it->first), it->second.mod_revision);
            it = keys.erase(it);
        } else {
            ++it;
        }
    }
    std::vector<std::string> lost;
    for (const auto& [block, name] : held) settle_held(block, name, keys, lease, lost);
    // Claims of ours in the v1 layout are moved over: the v2 ones are in place now.
    auto v1 = read_keys({keys_.v1_prefix(), range_end_of(keys_.v1_prefix())}, revision, keys_.v1_prefix());
    for (const auto& [block, stored] : v1) {
        if (ours(stored.claim)) delete_if_unchanged(keys_.v1_prefix() + block.to_string(), stored.mod_revision);
    }
    std::lock_guard lock(mutex_);
    for (const auto& problem : lost) {
        if (std::find(lost_.begin(), lost_.end(), problem) == lost_.end()) spdlog::error("{}", problem);
    }
    lost_ = lost;
    if (!reachable_) spdlog::info("etcd is reachable again");
    reachable_ = true;
}

void EtcdCoordinator::settle_held(const net::Cidr& block, const std::string& name, std::map<net::Cidr, Stored>& keys,
                                  const std::string& lease, std::vector<std::string>& lost) {
    auto key = keys_.key_of(block);
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto found = keys.find(block);
        if (found != keys.end() && ours(found->second.claim)) {
            if (found->second.lease == lease) return;
            // Taken over under the current lease only if it is still the very
            // claim just read: never a plain put, which could steal a block
            // that changed hands.
            const auto& claim = found->second.claim;
            if (put_if_unchanged(key, found->second.mod_revision, value_of(claim.name, claim.created), lease)) return;
        } else {
            auto [granted, holder] = claim_txns({{block, name}}, now_rfc3339(), lease).front();
            if (granted) return;
            if (holder && !(ours(*holder) && holder->block == block)) {
                lost.push_back(block.to_string() + " is held here but claimed by " + holder->daemon + " on node " +
                               holder->node);
                return;
            }
        }
        // It changed between the read and the transaction: read it again.
        std::int64_t revision = 0;
        auto again = read_keys({key, ""}, revision);
        keys.erase(block);
        keys.insert(again.begin(), again.end());
    }
    fail(ErrorCode::unavailable, "the claim on " + block.to_string() + " kept changing while it was reconciled");
}

// ---- etcd ----

std::string EtcdCoordinator::value_of(const std::string& name, const std::string& created) const {
    return json{{"node", settings_.node}, {"daemon", settings_.daemon}, {"name", name}, {"created", created}}.dump();
}

bool EtcdCoordinator::ours(const Claim& claim) const {
    return claim.node == settings_.node && claim.daemon == settings_.daemon;
}

std::optional<Claim> EtcdCoordinator::claim_of(const std::string& key, const std::string& value,
                                               const std::string& prefix_of_v1) const {
    try {
        auto block = prefix_of_v1.empty() ? keys_.block_of(key)
                                          : std::optional(net::Cidr::parse(key.substr(prefix_of_v1.size())));
        auto parsed = json::parse(value, nullptr, false);
        if (!block || !parsed.is_object()) throw std::invalid_argument("not a claim");
        return Claim{*block, parsed.value("node", ""), parsed.value("daemon", ""), parsed.value("name", ""),
                     parsed.value("created", "")};
    } catch (const std::exception& error) {
        spdlog::warn("ignoring the etcd key {}: {}", key, error.what());
        return std::nullopt;
    }
}

std::map<net::Cidr, EtcdCoordinator::Stored> EtcdCoordinator::read_keys(const KeyRange& range, std::int64_t& revision,
                                                                       const std::string& prefix_of_v1) {
    json request{{"key", base64(range.key)}};
    if (!range.range_end.empty()) request["range_end"] = base64(range.range_end);
    auto answer = gateway_.post("/v3/kv/range", request);
    revision = std::stoll(answer.value("header", json::object()).value("revision", "0"));
    std::map<net::Cidr, Stored> keys;
    for (const auto& kv : answer.value("kvs", json::array())) {
        auto claim = claim_of(unbase64(kv.value("key", "")), unbase64(kv.value("value", "")), prefix_of_v1);
        if (claim) keys[claim->block] = {*claim, kv.value("mod_revision", "0"), kv.value("lease", "0")};
    }
    return keys;
}

json EtcdCoordinator::claim_ops(const net::Cidr& block, const std::string& name, const std::string& created,
                                const std::string& lease) const {
    // Only the keys that can overlap `block` are compared (see ClaimKeys);
    // when one is there, the failure branch reads them, to name the holder.
    auto inside = keys_.starting_inside(block);
    auto compare = json::array({absent(inside.key, inside.range_end)});
    auto holders = json::array(
        {{{"request_range", {{"key", base64(inside.key)}, {"range_end", base64(inside.range_end)}, {"limit", "1"}}}}});
    for (const auto& key : keys_.containing(block)) {
        compare.push_back(absent(key));
        holders.push_back({{"request_range", {{"key", base64(key)}}}});
    }
    auto put = json::array(
        {{{"request_put",
           {{"key", base64(keys_.key_of(block))}, {"value", base64(value_of(name, created))}, {"lease", lease}}}}});
    return {{"compare", std::move(compare)}, {"success", std::move(put)}, {"failure", std::move(holders)}};
}

EtcdCoordinator::ClaimAnswer EtcdCoordinator::claim_answer(const json& answer) const {
    if (answer.value("succeeded", false)) return {true, std::nullopt};
    for (const auto& response : answer.value("responses", json::array())) {
        for (const auto& kv : response.value("response_range", json::object()).value("kvs", json::array())) {
            if (auto claim = claim_of(unbase64(kv.value("key", "")), unbase64(kv.value("value", "")))) {
                return {false, claim};
            }
        }
    }
    return {false, std::nullopt};
}

std::vector<EtcdCoordinator::ClaimAnswer> EtcdCoordinator::claim_txns(const std::vector<ClaimRequest>& requests,
                                                                      const std::string& created,
                                                                      const std::string& lease,
                                                                      std::int64_t* revision) {
    std::vector<ClaimAnswer> answers;
    json answer;
    if (requests.size() == 1) {
        answer = gateway_.post("/v3/kv/txn", claim_ops(requests[0].block, requests[0].name, created, lease));
        answers.push_back(claim_answer(answer));
    } else {
        // One transaction of nested ones (etcd 3.3 and later), each with
        // its own compare and its own outcome. etcd evaluates every compare
        // before it makes any put: the blocks must not overlap (work_loop).
        auto nested = json::array();
        for (const auto& request : requests) {
            nested.push_back({{"request_txn", claim_ops(request.block, request.name, created, lease)}});
        }
        answer = gateway_.post("/v3/kv/txn", {{"success", std::move(nested)}});
        auto responses = answer.value("responses", json::array());
        if (responses.size() != requests.size()) {
            fail(ErrorCode::unavailable, "etcd answered " + std::to_string(responses.size()) + " of " +
                                             std::to_string(requests.size()) + " claims in one transaction");
        }
        for (const auto& response : responses) {
            answers.push_back(claim_answer(response.value("response_txn", json::object())));
        }
    }
    if (revision) *revision = std::stoll(answer.value("header", json::object()).value("revision", "0"));
    std::lock_guard lock(mutex_);
    ++transactions_;
    for (const auto& each : answers) conflicts_ += each.granted ? 0 : 1;
    return answers;
}

std::optional<std::string> EtcdCoordinator::put_if_unchanged(const std::string& key, const std::string& mod_revision,
                                                             const std::string& value, const std::string& lease,
                                                             bool releasing) {
    auto encoded = base64(key);
    auto answer = gateway_.post(
        "/v3/kv/txn",
        {{"compare", at_revision(encoded, mod_revision)},
         {"success", json::array({{{"request_put", {{"key", encoded}, {"value", base64(value)}, {"lease", lease}}}}})}});
    if (!releasing) {
        std::lock_guard lock(mutex_);
        ++transactions_;
    }
    if (!answer.value("succeeded", false)) return std::nullopt;
    return answer.value("header", json::object()).value("revision", "0");
}

bool EtcdCoordinator::delete_if_unchanged(const std::string& key, const std::string& mod_revision) {
    auto encoded = base64(key);
    return gateway_
        .post("/v3/kv/txn", {{"compare", at_revision(encoded, mod_revision)},
                             {"success", json::array({{{"request_delete_range", {{"key", encoded}}}}})}})
        .value("succeeded", false);
}

} // namespace netd
