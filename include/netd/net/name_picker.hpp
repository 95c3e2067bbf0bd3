#pragma once

#include <functional>
#include <optional>
#include <string>

namespace netd::net {

// Hands out "<prefix><N>" names (tun0, netd3, lo:7): `wanted` when it is of
// that form and free, else the lowest free N. The search starts at a hint,
// the lowest N that may be free as far as this daemon's own picks and frees
// tell, so that the 10,000th name costs no scan of the 9,999 before it (the
// kernel's own "tun%d" does that scan). A name that someone else frees is
// skipped until the next restart, which starts from 0 again.
class NamePicker {
public:
    explicit NamePicker(std::string prefix) : prefix_(std::move(prefix)) {}

    std::string pick(const std::function<bool(const std::string&)>& taken, const std::string& wanted = "");
    void freed(const std::string& name);

private:
    std::optional<unsigned> number_of(const std::string& name) const;

    std::string prefix_;
    unsigned hint_ = 0;
};

} // namespace netd::net
