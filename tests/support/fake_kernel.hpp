#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "netd/backend.hpp"
#include "netd/coordinator.hpp"
#include "netd/error.hpp"
#include "netd/intents.hpp"
#include "unique_fd.hpp"

// In-memory stand-ins for the kernel behind the backend interfaces, so that
// services and handlers are tested without root (in the manner of
// wireguard-go's tuntest). One FakeKernel holds the state; the backends are
// views of it, as the real ones are views of the real kernel.
namespace netd::testing {

class FakeKernel : public HostNetwork {
public:
    bool overlaps(const net::Cidr& range) override { return find_overlap(range).has_value(); }
    // The first of ours or of the foreign occupants that overlaps `range`.
    std::optional<Occupant> find_overlap(const net::Cidr& range) override;
    void lock() override { ++locks; }
    void unlock() override { ++unlocks; }

    std::map<std::string, TunInterface> tuns;
    std::map<net::Cidr, Subnet> subnets;
    std::vector<Occupant> foreign;          // addresses and routes that are not ours
    std::vector<std::string> foreign_links; // interface names that are not ours
    // fwmark values and routing tables that rules or routes not ours use,
    // with what uses them, for a conflict message.
    std::map<std::uint32_t, std::string> foreign_marks;
    std::map<std::uint32_t, std::string> foreign_tables;
    std::optional<Error> fail_next;         // thrown by the next mutating call
    int locks = 0, unlocks = 0;             // uses of the host-wide lock
    std::uint64_t listings = 0;             // the backends' generation

    void throw_if_failing();
    bool name_taken(const std::string& name) const;
};

class FakeTunBackend : public TunBackend {
public:
    explicit FakeTunBackend(FakeKernel& kernel) : kernel_(kernel) {}

    bool marks = true; // false: an OS without fwmark, as macOS

    TunInterface create(const TunSpec& spec, const net::InterfaceAddress& address,
                        const std::optional<net::InterfaceAddress>& address6) override;
    std::optional<std::string> next_name() override;
    bool supports_marks() const override { return marks; }
    std::vector<TunInterface> list() override;
    // Tests change the fake's maps directly, so every listing may differ.
    std::uint64_t generation() override { return ++kernel_.listings; }
    void remove(std::string_view name) override;
    // /dev/null stands in for the TUN.
    platform::UniqueFd attach(std::string_view name, bool vnet_hdr) override;

private:
    FakeKernel& kernel_;
};

class FakeSubnetBackend : public SubnetBackend {
public:
    explicit FakeSubnetBackend(FakeKernel& kernel) : kernel_(kernel) {}

    Subnet add(const net::Cidr& network, const std::string& interface) override;
    std::vector<Subnet> list() override;
    std::uint64_t generation() override { return ++kernel_.listings; }
    void remove(const net::Cidr& network) override;

private:
    FakeKernel& kernel_;
};

// A coordinator shared by the "nodes" of a test: one FakeCoordinator per
// node, all over one map of claims, as real ones share one etcd.
struct FakeClaims {
    std::map<net::Cidr, Claim> claims;
    bool reachable = true;
    int transactions = 0;
};

class FakeCoordinator : public Coordinator {
public:
    FakeCoordinator(FakeClaims& shared, std::string node) : shared_(shared), node_(std::move(node)) {}

    std::vector<Claim> claims() const override;
    std::optional<Claim> find_overlap(const net::Cidr& range) const override;
    ClaimOutcome claim(ClaimTicket ticket, const net::Cidr& block, const std::string& name, int attempt) override;
    std::optional<ClaimOutcome> outcome(ClaimTicket ticket) override;
    void release(const net::Cidr& block) noexcept override;

    // Runs once, just before the next claim is decided: another node's
    // claim landing between our choice of a block and our claim.
    std::function<void()> before_next_claim;
    // When set, claims are decided only by decide(), as a real coordinator
    // decides them later on a thread of its own; until then they are pending.
    bool asynchronous = false;
    // Decides every pending claim, in the order they were asked for.
    void decide();
    std::size_t pending() const { return undecided_.size(); }

private:
    ClaimOutcome decide(const net::Cidr& block, const std::string& name, int attempt);

    FakeClaims& shared_;
    std::string node_;
    std::map<ClaimTicket, ClaimOutcome> outcomes_;
    std::vector<std::pair<ClaimTicket, std::string>> undecided_; // ticket, name
};

// Intents kept in memory; `text` is what a real store would hold on disk.
// With `refuse` set, every write fails as a full disk's would.
class FakeIntentStore : public IntentStore {
public:
    std::optional<std::string> read() override { return text; }
    void replace(const std::string& written) override {
        check("replace");
        text = written;
    }
    void append(const std::string& line) override {
        check("append to");
        text = text.value_or("") + line;
    }
    std::string set_aside() override {
        check("move aside");
        aside = text;
        text.reset();
        return "memory";
    }

    std::optional<std::string> text;
    std::optional<std::string> aside;
    std::optional<std::string> refuse; // e.g. "No space left on device"
    std::optional<int> writes_left;     // when set, the disk fills after this many more writes

private:
    void check(const std::string& what) {
        if (writes_left && (*writes_left)-- <= 0) refuse = "No space left on device";
        if (refuse) throw Error(ErrorCode::unavailable, "cannot " + what + " memory: " + *refuse);
    }
};

} // namespace netd::testing
