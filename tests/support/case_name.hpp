#pragma once

#include <cctype>
#include <string>

namespace netd::cases {

// Names each case of a parameterized suite after its `what` (its words, in
// a form GoogleTest takes: letters, digits and underscores), so that a
// failure says which row failed.
struct ByWhat {
    template <typename Info>
    std::string operator()(const Info& info) const {
        std::string name = info.param.what;
        for (auto& c : name) {
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        }
        return name;
    }
};

} // namespace netd::cases
