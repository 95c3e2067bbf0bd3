#include <gtest/gtest.h>

#include "netd/error.hpp"
#include "netd/daemon/etcd_coordinator.hpp"

namespace netd {
namespace {

TEST(EtcdEndpoints, ParsedFromTheCoordinatorFlag) {
    struct Case {
        const char* flag;
        std::vector<std::string> endpoints;
        const char* error;
    };
    for (const auto& c : std::vector<Case>{
             {"etcd=http://10.1.2.3:2379", {"10.1.2.3:2379"}, nullptr},
             {"etcd=http://a:2379,http://b:2379", {"a:2379", "b:2379"}, nullptr},
             {"consul=http://a:8500", {}, "--coordinator must be etcd="},
             {"etcd=", {}, "must be http://HOST:PORT"},
             {"etcd=https://a:2379", {}, "must be http://HOST:PORT"},
             {"etcd=http://a:2379,", {}, "must be http://HOST:PORT"},
         }) {
        try {
            EXPECT_EQ(parse_etcd_endpoints(c.flag), c.endpoints) << c.flag;
            EXPECT_EQ(c.error, nullptr) << c.flag << " accepted";
        } catch (const Error& error) {
            ASSERT_NE(c.error, nullptr) << c.flag << ": " << error.what();
            EXPECT_EQ(error.code(), ErrorCode::invalid);
            EXPECT_NE(std::string(error.what()).find(c.error), std::string::npos) << error.what();
        }
    }
}

} // namespace
} // namespace netd
