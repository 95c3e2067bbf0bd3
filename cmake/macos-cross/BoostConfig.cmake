# Boost for the macOS cross build: Asio and Beast are header-only, and so is
# Boost.System since 1.69 (see host_headers.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/host_headers.cmake")
netd_expose_host_headers(boost libboost-dev)
netd_header_only_target(Boost::headers)
netd_header_only_target(Boost::boost)
