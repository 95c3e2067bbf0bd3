#include "netd/net/name_picker.hpp"

#include <algorithm>

namespace netd::net {

std::string NamePicker::pick(const std::function<bool(const std::string&)>& taken, const std::string& wanted) {
    if (number_of(wanted) && !taken(wanted)) return wanted;
    for (auto n = hint_;; ++n) {
        auto name = prefix_ + std::to_string(n);
        if (taken(name)) continue;
        hint_ = n + 1;
        return name;
    }
}

void NamePicker::freed(const std::string& name) {
    if (auto n = number_of(name)) hint_ = std::min(hint_, *n);
}

std::optional<unsigned> NamePicker::number_of(const std::string& name) const {
    // Up to six digits, which keeps "lo:N" within an interface name's 15 characters.
    if (name.size() <= prefix_.size() || name.size() > prefix_.size() + 6 || name.rfind(prefix_, 0) != 0 ||
        name.find_first_not_of("0123456789", prefix_.size()) != std::string::npos) {
        return std::nullopt;
    }
    return static_cast<unsigned>(std::stoul(name.substr(prefix_.size())));
}

} // namespace netd::net
