#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netd/http/router.hpp"

namespace netd::http {

// The JSON text of the last listing a GET handler answered, rendered again
// only when the listing differs. Listing is the read path clients poll;
// comparing a few records costs far less than rendering them.
template <typename Item>
class RenderedList {
public:
    template <typename ToJson>
    Response respond(const std::vector<Item>& items, ToJson to_json) {
        if (!text_ || items != items_) {
            auto array = nlohmann::json::array();
            for (const auto& item : items) array.push_back(to_json(item));
            items_ = items;
            text_ = array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        return Response::plain(*text_, "application/json");
    }

private:
    std::vector<Item> items_;
    std::optional<std::string> text_;
};

} // namespace netd::http
