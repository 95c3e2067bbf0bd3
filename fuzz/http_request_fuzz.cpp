// Raw bytes through Beast's parser (with the daemon's limits) and then the
// whole pipeline of both daemons' APIs over the fake kernel: the access
// policy, the router, the handlers, the error mapping and the writing of the
// body. Every request must end in a response with a status the API
// documents, and nothing may crash.

#include <cstdlib>
#include <set>

#include <boost/beast/http.hpp>

#include "fake_kernel.hpp"
#include "netd/http/access_policy.hpp"
#include "netd/subnet/routes.hpp"
#include "netd/tun/routes.hpp"

namespace {

namespace bhttp = boost::beast::http;
using netd::http::status;

struct Daemons {
    netd::testing::FakeKernel kernel;
    netd::testing::FakeTunBackend tun_backend{kernel};
    netd::testing::FakeSubnetBackend subnet_backend{kernel};
    netd::testing::FakeIntentStore tun_store, subnet_store;
    std::string problem;
    netd::Intents tun_intents{tun_store, problem}, subnet_intents{subnet_store, problem};
    netd::TunService tuns{tun_backend, kernel, tun_intents, netd::net::Cidr::parse("10.0.0.0/16"),
                          netd::net::Cidr::parse("fd00:1::/48")};
    netd::SubnetService subnets{subnet_backend, kernel, subnet_intents, {.pool = netd::net::Cidr::parse("10.0.0.0/16")}};
    netd::http::Router router;
    netd::http::AccessPolicy policy{{"127.0.0.1:3030", "localhost:3030"}};

    Daemons() {
        netd::add_tun_routes(router, tuns);
        netd::add_subnet_routes(router, subnets);
    }
};

std::string_view view(boost::beast::string_view text) { return {text.data(), text.size()}; }

const std::set<status> documented{status::ok,
                                  status::created,
                                  status::no_content,
                                  status::bad_request,
                                  status::unauthorized,
                                  status::forbidden,
                                  status::not_found,
                                  status::method_not_allowed,
                                  status::conflict,
                                  status::unsupported_media_type};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Daemons daemons;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(data, size), ec);
    if (ec || !parser.is_done()) return 0; // the server answers these without the router
    const auto& request = parser.get();
    auto response = netd::http::handle_request(
        daemons.policy, daemons.router,
        {request.method(), view(request.target()), view(request[bhttp::field::host]),
         view(request[bhttp::field::origin]), view(request["Sec-Fetch-Site"]),
         view(request[bhttp::field::authorization]), view(request[bhttp::field::content_type]), request.body(),
         false, 1, 0, {},
         // Root, so that changes reach the handlers rather than stop at the 403.
         netd::http::Caller{}});
    if (!documented.contains(response.code)) std::abort();
    // What the server writes; it must not throw, whatever the request held.
    response.payload();
    // Keep the fake kernel small, so the fuzzer explores requests, not a full pool.
    if (daemons.kernel.tuns.size() + daemons.kernel.subnets.size() > 64) {
        daemons.kernel.tuns.clear();
        daemons.kernel.subnets.clear();
    }
    return 0;
}
