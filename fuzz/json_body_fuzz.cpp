// Any body either parses into a strict object or fails with
// netd::Error(invalid); nothing else may escape, and nothing may crash.

#include <cstdlib>
#include <string_view>

#include "netd/error.hpp"
#include "netd/http/json_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        netd::http::JsonBody body(text, {"name", "cidr", "prefix_len", "owner", "multi_queue", "routes"});
        body.string("name");
        body.string("cidr");
        body.integer("prefix_len", 8, 30);
        body.id("owner");
        body.boolean("multi_queue");
        body.strings("routes");
    } catch (const netd::Error& error) {
        if (error.code() != netd::ErrorCode::invalid) std::abort();
    }
    return 0;
}
